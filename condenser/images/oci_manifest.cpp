#include "condenser/images/oci_manifest.hpp"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "condenser/images/reference.hpp"

namespace raind::condenser::images {
namespace {

using nlohmann::json;

Result<json> parse_object(std::string_view text, std::string_view what) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return failf(Errc::parse, "{}: not a JSON object", what);
  return doc;
}

std::string string_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<Descriptor> parse_descriptor(const json& obj, std::string_view what) {
  if (!obj.is_object()) return failf(Errc::parse, "{}: descriptor is not an object", what);
  Descriptor d;
  d.media_type = string_field(obj, "mediaType");
  d.digest = string_field(obj, "digest");
  if (!is_sha256_digest(d.digest))
    return failf(Errc::parse, "{}: descriptor digest '{}' is not sha256:<64 hex>", what, d.digest);
  auto size = obj.find("size");
  if (size == obj.end() || !size->is_number_integer() || size->get<std::int64_t>() < 0)
    return failf(Errc::parse, "{}: descriptor {} has no valid size", what, d.digest);
  d.size = size->get<std::int64_t>();
  if (auto p = obj.find("platform"); p != obj.end() && p->is_object()) {
    d.platform = Platform{string_field(*p, "os"), string_field(*p, "architecture"),
                          string_field(*p, "variant")};
  }
  if (auto a = obj.find("annotations"); a != obj.end() && a->is_object()) {
    for (const auto& [key, value] : a->items())
      if (value.is_string()) d.annotations[key] = value.get<std::string>();
  }
  return d;
}

}  // namespace

std::string Platform::to_string() const {
  std::string out = os + "/" + architecture;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

bool is_index_media_type(std::string_view media_type) {
  return media_type == kOciIndexType || media_type == kDockerListType;
}

bool looks_like_index(std::string_view text) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return false;
  if (is_index_media_type(string_field(doc, "mediaType"))) return true;
  auto it = doc.find("manifests");
  return it != doc.end() && it->is_array();
}

Result<std::vector<Descriptor>> parse_index_manifests(std::string_view text) {
  RAIND_TRY_ASSIGN(json doc, parse_object(text, "image index"));
  auto list = doc.find("manifests");
  if (list == doc.end() || !list->is_array())
    return fail(Errc::parse, "image index: no \"manifests\" array");
  std::vector<Descriptor> out;
  for (const auto& item : *list) {
    RAIND_TRY_ASSIGN(auto d, parse_descriptor(item, "image index"));
    out.push_back(std::move(d));
  }
  return out;
}

Result<ImageManifest> parse_image_manifest(std::string_view text) {
  RAIND_TRY_ASSIGN(json doc, parse_object(text, "image manifest"));
  auto config = doc.find("config");
  auto layers = doc.find("layers");
  if (config == doc.end() || layers == doc.end() || !layers->is_array())
    return fail(Errc::parse, "image manifest: needs \"config\" and a \"layers\" array");
  ImageManifest m;
  RAIND_TRY_ASSIGN(m.config, parse_descriptor(*config, "image manifest config"));
  for (const auto& item : *layers) {
    RAIND_TRY_ASSIGN(auto d, parse_descriptor(item, "image manifest layer"));
    m.layers.push_back(std::move(d));
  }
  return m;
}

Result<ImageConfigInfo> parse_image_config(std::string_view text) {
  RAIND_TRY_ASSIGN(json doc, parse_object(text, "image config"));
  ImageConfigInfo info;
  info.platform = {string_field(doc, "os"), string_field(doc, "architecture"),
                   string_field(doc, "variant")};
  auto rootfs = doc.find("rootfs");
  if (rootfs == doc.end() || !rootfs->is_object())
    return fail(Errc::parse, "image config: no \"rootfs\"");
  auto ids = rootfs->find("diff_ids");
  if (ids == rootfs->end() || !ids->is_array())
    return fail(Errc::parse, "image config: no \"rootfs.diff_ids\" array");
  for (const auto& id : *ids) {
    if (!id.is_string() || !is_sha256_digest(id.get<std::string>()))
      return fail(Errc::parse, "image config: a diff_id is not sha256:<64 hex>");
    info.diff_ids.push_back(id.get<std::string>());
  }
  return info;
}

bool platform_matches(const Platform& have, const Platform& want) {
  if (have.os != want.os || have.architecture != want.architecture) return false;
  return have.variant.empty() || want.variant.empty() || have.variant == want.variant;
}

std::optional<Descriptor> select_platform(const std::vector<Descriptor>& manifests,
                                          const Platform& want) {
  for (const auto& d : manifests)
    if (d.platform && platform_matches(*d.platform, want)) return d;
  return std::nullopt;
}

Platform host_platform() {
  Platform p;
  struct utsname u {};
  if (::uname(&u) != 0) return p;
  std::string_view machine = u.machine;
  if (machine == "x86_64")
    p.architecture = "amd64";
  else if (machine == "aarch64" || machine == "arm64")
    p.architecture = "arm64", p.variant = "v8";
  else if (machine.starts_with("armv7"))
    p.architecture = "arm", p.variant = "v7";
  else if (machine.starts_with("armv6"))
    p.architecture = "arm", p.variant = "v6";
  else if (machine == "i686" || machine == "i386")
    p.architecture = "386";
  else
    p.architecture = std::string(machine);  // ppc64le, s390x, riscv64 share OCI's names
  return p;
}

}  // namespace raind::condenser::images
