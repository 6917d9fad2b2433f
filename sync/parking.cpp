#include "sync/parking.hpp"

#include "state/outbox_ops.hpp"
#include "state/store.hpp"
#include "sync/intent.hpp"

namespace peoplesync::sync {

void park(Pass& pass, const config::Stream& s, const Work& w, const std::string& reason, state::Commit& c,
          StreamReport& rep) {
  if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
  if (w.attempts + 1 >= pass.opt.max_park_attempts) {
    c.dead_letters.push_back({0, s.name, w.key, "gave up after " + std::to_string(w.attempts + 1) + " passes: " + reason,
                              "", dead_letter_payload(w.record), w.attempts + 1, 0, 0});
    ++rep.dead_lettered;
    return;
  }
  state::OutboxEntry e;
  e.stream = s.name;
  e.source_key = w.key;
  e.op = state::op::retry;
  e.payload = encode(WaitingRecord{w.record, reason, w.attempts + 1});
  e.state = state::OutboxState::pending;
  e.attempts = w.attempts + 1;
  c.outbox_inserts.push_back(std::move(e));
  ++rep.parked;
}

void dead_letter(Pass& pass, const config::Stream& s, const Work& w, const std::string& reason,
                 const std::string& code, state::Commit& c, StreamReport& rep) {
  if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
  c.dead_letters.push_back({0, s.name, w.key, reason, code, dead_letter_payload(w.record), w.attempts + 1, 0, 0});
  ++rep.dead_lettered;
  pass.log.with("stream", s.name)
      .warn("record {} dead-lettered: {}{}", w.key, code.empty() ? "" : code + ": ", reason);
}

std::vector<Work> parked_work(Pass& pass, const config::Stream& s, std::map<std::string, std::int64_t>& parked_rows) {
  std::vector<Work> out;
  for (const auto& e : pass.store.outbox_list(s.name)) {
    if (e.op != state::op::retry) continue;
    Work w;
    w.key = e.source_key;
    w.record = decode_waiting_record(e.payload);
    w.parked_row = e.id;
    w.attempts = e.attempts;
    parked_rows[e.source_key] = e.id;
    out.push_back(std::move(w));
  }
  return out;
}

void take_over_parked(std::vector<Work>& batch, std::map<std::string, std::int64_t>& parked_rows) {
  for (auto& w : batch) {
    auto it = w.parked_row ? parked_rows.end() : parked_rows.find(w.key);
    if (it == parked_rows.end()) continue;
    w.parked_row = it->second;
    parked_rows.erase(it);
  }
}

}  // namespace peoplesync::sync
