#include "sync/targets/crm_update.hpp"

#include <algorithm>

#include "state/outbox_ops.hpp"
#include "state/store.hpp"
#include "sync/intent.hpp"
#include "sync/parking.hpp"

namespace peoplesync::sync {

using boost::asio::awaitable;
using connectors::CallError;
using connectors::CrmClient;
using connectors::Outcome;

std::optional<std::string> typed_update(const std::string& module, const std::vector<connectors::CrmField>& fields,
                                        const Mapped& m, connectors::CrmUpdate& u) {
  const auto* obj = m.fields.as_object();
  if (!obj) return "the mapping gave no fields";
  for (const auto& [name, v] : *obj) {
    auto f = std::find_if(fields.begin(), fields.end(), [&](const connectors::CrmField& x) { return x.api_name == name; });
    if (f == fields.end()) return "CRM module " + module + " has no field " + name;
    auto typed = connectors::crm_typed_value(*f, v.text());
    if (auto* why = std::get_if<std::string>(&typed)) return *why;
    u.fields.emplace_back(name, std::get<Value>(std::move(typed)));
  }
  return std::nullopt;
}

awaitable<bool> CrmUpdateTarget::prepare(const config::Stream& s, StreamReport& rep) {
  pending_.clear();
  // The field types of the module, once per pass: values are sent typed.
  auto got = co_await pass_.limited(rep, [&] { return crm_.get_fields(*s.module); });
  if (auto* e = std::get_if<CallError>(&got)) {
    pass_.note_error(rep, *e);
    co_return false;
  }
  fields_ = std::get<std::vector<connectors::CrmField>>(std::move(got));
  co_return true;
}

awaitable<Step> CrmUpdateTarget::write(const config::Stream& s, std::vector<Ready>& items, state::Commit& c,
                                       StreamReport& rep, Shown& shown) {
  for (auto& [w, m] : items) {
    const auto existing = pass_.store.id_map_get(s.name, w.key);
    if (existing && existing->hash == m.hash && existing->target_id == w.target_id) {
      ++rep.unchanged;
      continue;
    }
    Pending p{std::move(w), std::move(m), {}};
    p.u.id = p.w.target_id;
    if (auto why = typed_update(*s.module, fields_, p.m, p.u)) {
      if (pass_.opt.dry_run) {
        pass_.plan(rep, shown, "dead letter", p.w.key + ": " + *why);
        ++rep.dead_lettered;
      } else {
        dead_letter(pass_, s, p.w, *why, "", c, rep);
      }
      continue;
    }
    pending_.push_back(std::move(p));
  }
  pass_.commit(c);
  // CRM updates go out while the source is read, 100 at a time (the last
  // ones at the end), so what waits in memory stays under one batch.
  const bool sent = co_await send(s, false, rep, shown);
  co_return sent ? Step{} : stopped();
}

awaitable<Step> CrmUpdateTarget::flush(const config::Stream& s, StreamReport& rep, Shown& shown) {
  const bool sent = co_await send(s, true, rep, shown);
  co_return sent ? Step{} : stopped();
}

awaitable<bool> CrmUpdateTarget::send(const config::Stream& s, bool all, StreamReport& rep, Shown& shown) {
  std::size_t i = 0;
  for (; i < pending_.size(); i += CrmClient::kMaxUpdate) {
    if (!all && pending_.size() - i < CrmClient::kMaxUpdate) break;
    if (pass_.stop_requested) co_return false;
    const std::size_t end = std::min(pending_.size(), i + CrmClient::kMaxUpdate);
    if (!co_await send_batch(s, i, end, rep, shown)) co_return false;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(std::min(i, pending_.size())));
  co_return true;
}

awaitable<bool> CrmUpdateTarget::send_batch(const config::Stream& s, std::size_t i, std::size_t end,
                                            StreamReport& rep, Shown& shown) {
  if (pass_.opt.dry_run) {
    for (std::size_t k = i; k < end; ++k) {
      const connectors::CrmUpdate& u = pending_[k].u;
      std::string f;
      for (const auto& [name, v] : u.fields) f += (f.empty() ? "" : ", ") + name + "=" + v.text();
      pass_.plan(rep, shown, "update CRM", *s.module + " " + u.id + ": " + f);
      ++rep.updated;
    }
    co_return true;
  }
  std::vector<connectors::CrmUpdate> updates;
  std::vector<state::OutboxEntry> intents;
  for (std::size_t k = i; k < end; ++k) {
    intents.push_back({0, s.name, pending_[k].w.key, std::string(state::op::crm_update), empty_intent(),
                       state::OutboxState::sent, 1, 0, 0});
    updates.push_back(pending_[k].u);
  }
  const auto ids = pass_.store.outbox_add_many(intents);
  auto got = co_await pass_.limited(rep, [&] { return crm_.update(*s.module, updates); });
  state::Commit c;
  for (auto id : ids) c.outbox_done.push_back(id);
  if (auto* e = std::get_if<CallError>(&got)) {
    if (e->outcome == Outcome::permanent) {
      for (std::size_t k = i; k < end; ++k) dead_letter(pass_, s, pending_[k].w, e->message, e->vendor_code, c, rep);
      pass_.commit(c);
      co_return true;
    }
    // In doubt or temporary: an update is idempotent; the next pass sends it again.
    pass_.note_error(rep, *e);
    pass_.commit(c);
    co_return false;
  }
  const auto& results = std::get<std::vector<connectors::CrmUpdateResult>>(got);
  for (std::size_t k = i; k < end; ++k) {
    const auto& r = results[k - i];
    Work& w = pending_[k].w;
    if (r.outcome == Outcome::ok) {
      c.id_map_upserts.push_back({s.name, w.key, updates[k - i].id, pending_[k].m.hash, 0});
      ++rep.updated;
    } else if (r.outcome == Outcome::permanent) {
      dead_letter(pass_, s, w, r.message, r.code, c, rep);
    } else {
      pass_.log.with("stream", s.name).warn("CRM update of {} not done yet: {} {}", updates[k - i].id, r.code, r.message);
    }
  }
  pass_.commit(c);
  pass_.report(rep);
  co_return true;
}

awaitable<std::optional<std::vector<ReadBack>>> CrmUpdateTarget::read_back(const config::Stream&,
                                                                           const std::vector<state::OutboxEntry>&,
                                                                           std::set<std::string>&, StreamReport&) {
  co_return std::vector<ReadBack>{};
}

}  // namespace peoplesync::sync
