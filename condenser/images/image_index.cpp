#include "condenser/images/image_index.hpp"

#include <nlohmann/json.hpp>

#include "condenser/images/reference.hpp"

namespace raind::condenser::images {
namespace {
constexpr int kIndexVersion = 1;
}

std::string ImageRecord::id() const {
  constexpr std::string_view kPrefix = "sha256:";
  return config_digest.starts_with(kPrefix) ? config_digest.substr(kPrefix.size()) : config_digest;
}

std::string serialize_image_index(const std::vector<ImageRecord>& images) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& image : images) {
    list.push_back({{"reference", image.reference},
                    {"manifest_digest", image.manifest_digest},
                    {"index_digest", image.index_digest},
                    {"config_digest", image.config_digest},
                    {"layer_digests", image.layer_digests},
                    {"diff_ids", image.diff_ids},
                    {"created_unix", image.created_unix}});
  }
  nlohmann::json doc = {{"version", kIndexVersion}, {"images", std::move(list)}};
  return doc.dump(2) + "\n";
}

Result<std::vector<ImageRecord>> parse_image_index(std::string_view json) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(Errc::parse, "image index: not a JSON object");
  // value() throws on a wrong type: a corrupt file must be an error, not an exception.
  auto version = doc.find("version");
  if (version == doc.end() || *version != kIndexVersion)
    return failf(Errc::parse, "image index: unsupported version {}",
                 version == doc.end() ? "(none)" : version->dump());
  std::vector<ImageRecord> out;
  try {
    for (const auto& item : doc.at("images")) {
      ImageRecord record;
      item.at("reference").get_to(record.reference);
      item.at("manifest_digest").get_to(record.manifest_digest);
      item.at("config_digest").get_to(record.config_digest);
      record.index_digest = item.value("index_digest", std::string());
      item.at("layer_digests").get_to(record.layer_digests);
      item.at("diff_ids").get_to(record.diff_ids);
      // A float (1e40) would not convert to int64_t without undefined behaviour.
      if (auto created = item.find("created_unix"); created != item.end()) {
        if (!created->is_number_integer())
          return failf(Errc::parse, "image index: record '{}' has an invalid created_unix",
                       record.reference);
        record.created_unix = created->get<std::int64_t>();
      }
      // The store builds paths from these digests: never trust them unchecked.
      bool digests_ok = is_sha256_digest(record.config_digest) &&
                        is_sha256_digest(record.manifest_digest) &&
                        (record.index_digest.empty() || is_sha256_digest(record.index_digest)) &&
                        record.layer_digests.size() == record.diff_ids.size();
      for (const auto& d : record.layer_digests) digests_ok = digests_ok && is_sha256_digest(d);
      for (const auto& d : record.diff_ids) digests_ok = digests_ok && is_sha256_digest(d);
      if (!digests_ok)
        return failf(Errc::parse, "image index: record '{}' has invalid digests", record.reference);
      out.push_back(std::move(record));
    }
  } catch (const nlohmann::json::exception& e) {
    return failf(Errc::parse, "image index: {}", e.what());
  }
  return out;
}

}  // namespace raind::condenser::images
