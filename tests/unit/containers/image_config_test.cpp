#include <gtest/gtest.h>

#include "condenser/containers/image_config.hpp"

using namespace raind::condenser::containers;

TEST(ImageConfig, ReadsProcessFieldsAndIgnoresTheRest) {
  auto c = parse_image_config_text(R"({"architecture":"amd64","config":{"Env":["PATH=/bin","A=1"],
    "Entrypoint":["/entry"],"Cmd":["serve","-v"],"WorkingDir":"/app","User":"app",
    "Labels":{"x":"y"}},"rootfs":{"type":"layers","diff_ids":[]}})");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->env, (std::vector<std::string>{"PATH=/bin", "A=1"}));
  EXPECT_EQ(c->entrypoint, std::vector<std::string>{"/entry"});
  EXPECT_EQ(c->cmd, (std::vector<std::string>{"serve", "-v"}));
  EXPECT_EQ(c->working_dir, "/app");
  EXPECT_EQ(c->user, "app");
}

TEST(ImageConfig, MissingOrNullFieldsAreEmptyWrongTypesAreErrors) {
  EXPECT_TRUE(parse_image_config_text(R"({"architecture":"amd64"})")->cmd.empty());
  EXPECT_TRUE(parse_image_config_text(R"({"config":{"Cmd":null,"Env":null}})")->env.empty());
  auto bad = parse_image_config_text(R"({"config":{"Cmd":"sh"}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("config.Cmd"), std::string::npos);
  EXPECT_FALSE(parse_image_config_text(R"({"config":{"Env":[1]}})"));
  EXPECT_FALSE(parse_image_config_text("{"));
  EXPECT_FALSE(parse_image_config_text("[]"));
}
