#include <gtest/gtest.h>

#include <functional>

#include "condenser/network/ipam.hpp"

using namespace raind::condenser::network;
using nlohmann::json;
using raind::Errc;

namespace {

Ipv4 ip(const char* text) {
  return *parse_ipv4(text);
}

Ipam populated() {
  auto ipam = Ipam::create();
  EXPECT_TRUE(ipam);
  EXPECT_TRUE(ipam->allocate("raind0", "01kg2cnf0ytv"));
  EXPECT_TRUE(ipam->allocate("raind0", "01kg2cnf0yzz"));
  EXPECT_TRUE(ipam->create_network("backend"));
  EXPECT_TRUE(ipam->allocate("backend", "01kg2cnf1aaa"));
  return std::move(*ipam);
}

const char* kGolden = R"({
  "networks": [
    {
      "allocations": [
        {"address": "10.166.0.1", "containerId": "01kg2cnf0ytv"},
        {"address": "10.166.0.2", "containerId": "01kg2cnf0yzz"}
      ],
      "gateway": "10.166.0.254",
      "name": "raind0",
      "subnet": "10.166.0.0/24"
    },
    {
      "allocations": [{"address": "10.166.1.1", "containerId": "01kg2cnf1aaa"}],
      "gateway": "10.166.1.254",
      "name": "backend",
      "subnet": "10.166.1.0/24"
    }
  ],
  "runtimeSubnet": "10.166.0.0/16",
  "version": 1
})";

}  // namespace

TEST(IpamJson, SerialisesToTheDocumentedShape) {
  EXPECT_EQ(populated().to_json(), json::parse(kGolden));
}

TEST(IpamJson, RoundTripsAndKeepsAllocating) {
  Ipam original = populated();
  auto restored = Ipam::from_json(original.to_json());
  ASSERT_TRUE(restored) << restored.error().what();
  EXPECT_EQ(restored->to_json(), original.to_json());
  EXPECT_EQ(format_ipv4(*restored->allocate("raind0", "new")), "10.166.0.3");
  EXPECT_EQ((*restored->create_network("third"))->subnet.to_string(), "10.166.2.0/24");
}

TEST(IpamJson, RejectsCorruptOrInconsistentState) {
  struct Case {
    const char* what;
    std::function<void(json&)> corrupt;
    const char* says;
  };
  std::vector<Case> cases = {
      {"unknown field", [](json& j) { j["extra"] = 1; }, "unknown field \"extra\""},
      {"wrong version", [](json& j) { j["version"] = 2; }, "ipam.version"},
      {"other runtime subnet", [](json& j) { j["runtimeSubnet"] = "10.0.0.0/16"; }, "differs"},
      {"gateway mismatch", [](json& j) { j["networks"][0]["gateway"] = "10.166.0.1"; }, "gateway"},
      {"address outside",
       [](json& j) { j["networks"][0]["allocations"][0]["address"] = "10.166.9.1"; }, "outside"},
      {"address is gateway",
       [](json& j) { j["networks"][0]["allocations"][0]["address"] = "10.166.0.254"; }, "gateway"},
      {"address twice",
       [](json& j) { j["networks"][0]["allocations"][1]["address"] = "10.166.0.1"; },
       "already held"},
      {"overlapping networks", [](json& j) { j["networks"][1]["subnet"] = "10.166.0.0/24"; },
       "overlaps"},
      {"reserved dns range", [](json& j) { j["networks"][1]["subnet"] = "10.166.254.0/24"; },
       "reserved"},
      {"bad name", [](json& j) { j["networks"][1]["name"] = "rd_x"; }, "container veths"},
      {"no default network", [](json& j) { j["networks"].erase(0); }, "default network"},
      {"subnet with host bits", [](json& j) { j["networks"][1]["subnet"] = "10.166.1.5/24"; },
       "host bits"},
  };
  for (const auto& c : cases) {
    json doc = populated().to_json();
    c.corrupt(doc);
    auto r = Ipam::from_json(doc);
    ASSERT_FALSE(r) << c.what;
    EXPECT_NE(r.error().what().find(c.says), std::string::npos)
        << c.what << ": " << r.error().what();
  }
}

TEST(IpamJson, RebuildsFromWhatExists) {
  std::vector<std::pair<std::string, Subnet>> networks = {
      {"backend", *parse_subnet("10.166.7.0/24")}};
  std::vector<Allocation> allocations = {{"backend", "c1", ip("10.166.7.20")},
                                         {"raind0", "c2", ip("10.166.0.5")}};
  auto rebuilt = Ipam::rebuild(networks, allocations);
  ASSERT_TRUE(rebuilt) << rebuilt.error().what();
  ASSERT_EQ(rebuilt->networks().size(), 2u);
  EXPECT_EQ(rebuilt->networks()[0].name, "raind0");  // default added, and first
  EXPECT_EQ(rebuilt->networks()[0].subnet.to_string(), "10.166.0.0/24");
  EXPECT_EQ(rebuilt->find_allocation("c1")->address, ip("10.166.7.20"));
  EXPECT_EQ(rebuilt->find_allocation("c2")->network, "raind0");
  // New allocations still go to the lowest free address around the adopted ones.
  EXPECT_EQ(format_ipv4(*rebuilt->allocate("raind0", "c3")), "10.166.0.1");
  EXPECT_EQ(rebuilt->allocations().size(), 3u);

  auto clash = Ipam::rebuild(
      networks, {{"backend", "c1", ip("10.166.7.20")}, {"backend", "c9", ip("10.166.7.20")}});
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code(), Errc::already_exists);
  auto unknown = Ipam::rebuild({}, {{"gone", "c1", ip("10.166.3.2")}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), Errc::not_found);
}
