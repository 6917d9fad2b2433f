#include "sync/target.hpp"

#include "state/store.hpp"
#include "sync/parking.hpp"

namespace peoplesync::sync {

boost::asio::awaitable<bool> Target::prepare(const config::Stream&, StreamReport&) { co_return true; }

boost::asio::awaitable<Step> Target::flush(const config::Stream&, StreamReport&, Shown&) { co_return Step{}; }

boost::asio::awaitable<std::optional<connectors::CallError>> Target::remove(const config::Stream&, const std::string&,
                                                                            const std::string&, state::Commit&,
                                                                            StreamReport&) {
  co_return std::nullopt;
}

std::string Target::remove_plan(const config::Stream&) const { return "delete"; }

std::int64_t store_intent(Pass& pass, const config::Stream& s, const std::string& key, std::string_view op,
                          const std::string& payload) {
  return pass.store
      .outbox_add_many({{0, s.name, key, std::string(op), payload, state::OutboxState::sent, 1, 0, 0}})
      .front();
}

Step write_failed(Pass& pass, const config::Stream& s, const Work& w, const connectors::CallError& e,
                  state::Commit& c, StreamReport& rep, std::int64_t intent) {
  if (e.outcome == connectors::Outcome::permanent) {
    c.outbox_done.push_back(intent);
    dead_letter(pass, s, w, e.message, e.vendor_code, c, rep);
    return {};
  }
  if (e.outcome == connectors::Outcome::in_doubt) {
    // The intent stays "sent": the batch goes on, and the target is read
    // back (reconcile) before the record is written again.
    pass.log.with("stream", s.name).warn("{}: in doubt; People is read back before anything is sent again", e.message);
    return Step{true, true, e.message, {w.key}};
  }
  pass.note_error(rep, e);
  c.outbox_done.push_back(intent);  // never reached the target (or was refused): the record is read again
  return stopped();
}

void merge_doubt(Step& result, const Step& one) {
  if (!one.in_doubt) return;
  result.in_doubt = true;
  result.doubt = one.doubt;
  result.doubtful.insert(one.doubtful.begin(), one.doubtful.end());
}

}  // namespace peoplesync::sync
