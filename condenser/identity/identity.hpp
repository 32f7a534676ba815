#pragma once
// Who is behind an address: the in-memory directory of containers the flow-log enricher and the
// DNS proxy consult for every record. The container service publishes a fresh snapshot whenever
// a container gets or loses its address; readers take the current snapshot without locking
// against each other (a shared_ptr swap), so a lookup never waits for a writer.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace raind::condenser::identity {

struct ContainerIdentity {
  std::string id;
  std::string name;
  std::string spiffe_id;
  std::string veth;         // host-side interface
  std::string ip;           // dotted IPv4
  std::string mac;          // lower-case aa:bb:…, may be empty
  std::string bottle = {};  // the bottle it belongs to, empty if none
};

// An IPv4 network, e.g. the container pool 10.166.0.0/16.
struct Ipv4Net {
  std::uint32_t address = 0;  // host byte order
  unsigned prefix = 32;
  bool contains(std::uint32_t ip) const;
};
std::optional<std::uint32_t> parse_ipv4(std::string_view text);
std::optional<Ipv4Net> parse_ipv4_net(std::string_view cidr);

class Snapshot {
 public:
  Snapshot() = default;
  Snapshot(std::vector<ContainerIdentity> containers, std::vector<Ipv4Net> container_networks);

  const ContainerIdentity* by_ip(std::string_view ip) const;
  const ContainerIdentity* by_mac(std::string_view mac) const;
  const ContainerIdentity* by_name(std::string_view name) const;
  // In an address range containers are given (mapped or not).
  bool in_container_networks(std::string_view ip) const;
  const std::vector<ContainerIdentity>& containers() const { return containers_; }

 private:
  std::vector<ContainerIdentity> containers_;
  std::unordered_map<std::string, std::size_t> by_ip_;
  std::unordered_map<std::string, std::size_t> by_mac_;
  std::unordered_map<std::string, std::size_t> by_name_;
  std::vector<Ipv4Net> networks_;
};

// Service-name DNS inside a bottle: for a client container of bottle B, "<svc>" and "<svc>.<B>"
// (any case, with or without the final dot) name the container "<B>-<svc>". Returns its address,
// or nothing when the client is in no bottle or the name is not one of its services.
std::optional<std::string> resolve_bottle_service(const Snapshot& snapshot,
                                                  std::string_view client_ip,
                                                  std::string_view qname);

class Directory {
 public:
  Directory();
  void publish(std::vector<ContainerIdentity> containers, std::vector<Ipv4Net> container_networks);
  std::shared_ptr<const Snapshot> current() const;
  std::uint64_t generation() const { return generation_.load(); }

 private:
  std::shared_ptr<const Snapshot> snapshot_;  // accessed with std::atomic_load/_store
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace raind::condenser::identity
