#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "condenser/flowlog/ulogd_config.hpp"

namespace fl = raind::condenser::flowlog;

namespace {

std::string read_golden(const char* name) {
  std::ifstream in(std::string(RAIND_FLOWLOG_GOLDEN_DIR) + "/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

fl::UlogdConfigOptions defaults() {
  fl::UlogdConfigOptions o;
  o.socket_path = "/run/raind/flowlog/ulogd.sock";
  o.logfile = "/run/raind/flowlog/ulogd.log";
  return o;
}

}  // namespace

TEST(UlogdConfig, Golden) {
  auto text = fl::render_ulogd_config(defaults());
  ASSERT_TRUE(text) << text.error().what();
  EXPECT_EQ(*text, read_golden("ulogd.conf"));
}

TEST(UlogdConfig, GroupsAndLogfile) {
  auto o = defaults();
  o.groups = {10};
  o.logfile.clear();
  o.loglevel = 1;
  auto text = fl::render_ulogd_config(o);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("logfile=\"stdout\"\nloglevel=1\n"), std::string::npos);
  EXPECT_NE(text->find("[log10]\ngroup=10\nnetlink_qthreshold=1\n"), std::string::npos);
  EXPECT_EQ(text->find("log11"), std::string::npos);
}

TEST(UlogdConfig, RejectsWhatCannotBeWritten) {
  auto o = defaults();
  o.socket_path.clear();
  EXPECT_FALSE(fl::render_ulogd_config(o));
  o = defaults();
  o.groups.clear();
  EXPECT_FALSE(fl::render_ulogd_config(o));
  o = defaults();
  o.groups = {10, 10};
  EXPECT_FALSE(fl::render_ulogd_config(o));
  o = defaults();
  o.groups = {70000};
  EXPECT_FALSE(fl::render_ulogd_config(o));
  for (const char* bad : {"/tmp/a\"b.sock", "/tmp/a\nb.sock", "/tmp/a#b.sock"}) {
    o = defaults();
    o.socket_path = bad;
    auto r = fl::render_ulogd_config(o);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), raind::Errc::invalid_argument);
  }
}
