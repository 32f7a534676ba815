#include "condenser/api/envelope.hpp"
#include "condenser/api/strict_json.hpp"
#include "condenser/handlers/context.hpp"
#include "raind/log.hpp"

namespace raind::condenser::handlers {

using api::ApiRequest;
using api::ApiResponse;
using boost::asio::awaitable;

namespace {

nlohmann::json cert_json(const store::CertificateRow& row) {
  nlohmann::json j{{"serial", row.cert.serial},           {"kind", row.cert.kind},
                   {"subject_cn", row.cert.subject_cn},   {"spiffe_id", row.cert.spiffe_id},
                   {"not_before", row.cert.not_before},   {"not_after", row.cert.not_after},
                   {"fingerprint", row.cert.fingerprint}, {"issued_at", row.issued_at}};
  if (!row.cert.container_id.empty()) j["container_id"] = row.cert.container_id;
  j["superseded_at"] = row.superseded_at ? nlohmann::json(*row.superseded_at) : nullptr;
  return j;
}

}  // namespace

void add_pki_routes(api::Router& management, api::Router& ca, HandlerContext& ctx) {
  management.add("GET", "/v1/pki/certs", "pki.list", api::Severity::information,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   auto rows = ctx.store.list_certificates(api::query_flag(req.query, "all"));
                   if (!rows) co_return api::failure(rows.error());
                   nlohmann::json data = nlohmann::json::array();
                   for (const auto& r : *rows) data.push_back(cert_json(r));
                   co_return api::success("certificates", std::move(data));
                 });

  management.add(
      "POST", "/v1/pki/rotate", "pki.rotate", api::Severity::critical,
      [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
        // An empty body or {} only: strict like every other JSON route.
        auto body = api::StrictObject::parse(req.body, true);
        if (!body) co_return api::failure(body.error());
        if (auto s = body->finish(); !s) co_return api::failure(s.error());
        auto rotated = ctx.pki.rotate();
        if (!rotated) co_return api::failure(rotated.error().context("rotate certificates"));
        if (auto s = ctx.store.record_certificates(*rotated, true); !s)
          co_return api::failure(s.error().context("record rotated certificates"));
        if (ctx.on_rotated) {
          if (auto s = ctx.on_rotated(); !s)
            co_return api::failure(s.error().context("reload server certificate"));
        }
        nlohmann::json data = nlohmann::json::array();
        nlohmann::json serials = nlohmann::json::array();
        for (const auto& c : *rotated) {
          store::CertificateRow row{c, store::now_rfc3339(), std::nullopt};
          data.push_back(cert_json(row));
          serials.push_back(c.serial);
        }
        req.audit_target["serials"] = serials;
        logger("condenser.pki")->info("rotated {} certificates", rotated->size());
        co_return api::success("certificates rotated", std::move(data));
      },
      4096);

  ca.add("POST", "/v1/pki/sign", "pki.sign", api::Severity::high,
         [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
           auto csr = pki::parse_container_csr(req.body);
           if (!csr) co_return api::failure(csr.error());
           req.audit_target["container_id"] = csr->container_id;
           req.audit_target["san_uri"] = {"spiffe://raind/container/" + csr->container_id};
           auto container = ctx.store.find_container(csr->container_id);
           if (!container) co_return api::failure(container.error());
           if (!*container)
             co_return api::failure(
                 403, fmt::format("container '{}' does not exist", csr->container_id));
           if ((*container)->state != "creating")
             co_return api::failure(403, fmt::format("container '{}' is {}, certificates are "
                                                     "issued only while creating",
                                                     csr->container_id, (*container)->state));
           auto cert = ctx.pki.sign_container(*csr);
           if (!cert) co_return api::failure(cert.error());
           auto record = pki::describe(cert->get(), "container");
           req.audit_target["common_name"] = record.subject_cn;
           req.audit_extra["serial"] = record.serial;
           if (auto s = ctx.store.record_certificates({record}, false); !s)
             co_return api::failure(s.error());
           if (auto s = ctx.store.set_container_spiffe_id(csr->container_id, record.spiffe_id); !s)
             co_return api::failure(s.error());
           ApiResponse resp;
           resp.status = 200;
           resp.content_type = "application/x-pem-file";
           resp.body = record.pem;
           resp.message = "certificate issued";
           co_return resp;
         });
}

}  // namespace raind::condenser::handlers
