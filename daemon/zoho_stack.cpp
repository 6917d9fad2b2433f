#include "daemon/zoho_stack.hpp"

#include <variant>

#include "connectors/crm.hpp"
#include "connectors/oauth.hpp"
#include "connectors/people.hpp"
#include "state/store.hpp"

namespace peoplesync::runtime {
namespace {

class ZohoStack final : public SyncStack {
 public:
  ZohoStack(const config::Config& cfg, const StackDeps& d)
      : cfg_(cfg),
        clock_(d.clock),
        tokens_(d.transport, cfg.zoho, d.clock, d.sleeper, d.random),
        api_(d.transport, tokens_, d.clock, d.sleeper, d.random),
        scheduler_(cfg.limits, &d.store, d.clock, d.sleeper),
        crm_(api_, cfg.zoho.crm_url),
        people_(api_, cfg.zoho.people_url, cfg.people.date_format),
        engine_(cfg, d.store, crm_, people_, d.clock, d.engine) {
    api_.set_gate(scheduler_);
    if (d.one_shot) tokens_.set_max_attempts(3);
  }

  boost::asio::awaitable<TokenCheck> first_token() override {
    auto t = co_await tokens_.access_token();
    if (std::holds_alternative<std::string>(t)) co_return TokenCheck{};
    const auto& e = std::get<connectors::CallError>(t);
    co_return TokenCheck{e.outcome == connectors::Outcome::auth ? TokenCheck::State::refused
                                                                : TokenCheck::State::not_yet,
                         e.message};
  }
  boost::asio::awaitable<sync::PreflightReport> preflight() override {
    co_return co_await sync::preflight(cfg_, tokens_, crm_, people_, clock_);
  }
  boost::asio::awaitable<sync::RunReport> run_pass() override { co_return co_await engine_.run_once(); }
  void request_stop() override { engine_.request_stop(); }
  void on_progress(sync::ProgressFn fn) override { engine_.on_progress(std::move(fn)); }
  std::vector<sync::EndpointSnapshot> endpoints() const override { return scheduler_.snapshot(); }
  void flush() override { scheduler_.flush(); }

 private:
  const config::Config& cfg_;
  const Clock& clock_;
  connectors::TokenProvider tokens_;
  connectors::ZohoApi api_;
  sync::Scheduler scheduler_;
  connectors::CrmClient crm_;
  connectors::PeopleClient people_;
  sync::Engine engine_;
};

}  // namespace

std::unique_ptr<SyncStack> make_zoho_stack(const config::Config& cfg, const StackDeps& deps) {
  return std::make_unique<ZohoStack>(cfg, deps);
}

}  // namespace peoplesync::runtime
