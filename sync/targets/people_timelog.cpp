#include "sync/targets/people_timelog.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "common/timefmt.hpp"
#include "connectors/people.hpp"
#include "state/outbox_ops.hpp"
#include "state/store.hpp"
#include "sync/intent.hpp"
#include "sync/parking.hpp"

namespace peoplesync::sync {

using boost::asio::awaitable;
using connectors::CallError;
using connectors::Outcome;
using connectors::PeopleClient;
using connectors::TimelogItemResult;

namespace {

// The time log a stream's mapping describes (the people.timelog fields of PRODUCT.md).
connectors::TimelogInput timelog_input(const Value& f) {
  connectors::TimelogInput t;
  t.user = text_of(f, "user");
  t.job_id = text_of(f, "jobId");
  t.date = text_of(f, "date");
  t.hours = text_of(f, "hours");
  t.start_time = text_of(f, "startTime");
  t.end_time = text_of(f, "endTime");
  t.billable_status = text_of(f, "billableStatus");
  t.work_item = text_of(f, "workItem");
  t.description = text_of(f, "description");
  return t;
}

std::chrono::hours days(int n) { return std::chrono::hours(24 * n); }

}  // namespace

struct PeopleTimelogTarget::Item {
  Work* w;
  Mapped* m;
  connectors::TimelogInput in;
  bool edit;
};

awaitable<Step> PeopleTimelogTarget::write(const config::Stream& s, std::vector<Ready>& items, state::Commit& c,
                                           StreamReport& rep, Shown& shown) {
  std::vector<Item> todo;
  for (auto& [w, m] : items) {
    const auto existing = pass_.store.id_map_get(s.name, w.key);
    if (existing && existing->hash == m.hash) {
      ++(pass_.added_by_read_back.erase({s.name, w.key}) ? rep.created : rep.unchanged);
      if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
      continue;
    }
    Item it{&w, &m, timelog_input(m.fields), existing.has_value()};
    if (existing) it.in.timelog_id = existing->target_id;
    if (!parse_iso8601(it.in.date) || it.in.date.size() != 10) {
      dead_letter(pass_, s, w, "date '" + it.in.date + "' is not yyyy-MM-dd", "", c, rep);
      continue;
    }
    if (pass_.opt.dry_run) {
      pass_.plan(rep, shown, it.edit ? "update time log" : "create time log",
                 it.in.user + " " + it.in.date + " " + it.in.hours + " on job " + it.in.job_id + " for " + w.key);
      ++(it.edit ? rep.updated : rep.created);
      continue;
    }
    todo.push_back(std::move(it));
  }
  // Batches of <= 100 items spanning <= 31 consecutive days: sort by date,
  // then fill each batch from its first date.
  std::stable_sort(todo.begin(), todo.end(), [](const Item& a, const Item& b) { return a.in.date < b.in.date; });
  Step result;
  std::size_t i = 0;
  while (i < todo.size()) {
    if (pass_.stop_requested) co_return stopped();
    const SysTime first = *parse_iso8601(todo[i].in.date);
    std::size_t j = i;
    while (j < todo.size() && j - i < PeopleClient::kMaxTimelogsPerCall &&
           *parse_iso8601(todo[j].in.date) - first < days(PeopleClient::kMaxTimelogWriteDays))
      ++j;
    if (!co_await send_batch(s, todo, i, j, c, rep, result)) co_return stopped();
    i = j;
  }
  co_return result;
}

// Sends todo[i, j) in one call; false: the stream stops (error noted).
awaitable<bool> PeopleTimelogTarget::send_batch(const config::Stream& s, std::vector<Item>& todo, std::size_t i,
                                                std::size_t j, state::Commit& c, StreamReport& rep, Step& result) {
  std::vector<state::OutboxEntry> intents;
  std::vector<connectors::TimelogInput> inputs;
  for (std::size_t k = i; k < j; ++k) {
    const auto& in = todo[k].in;
    intents.push_back({0, s.name, todo[k].w->key,
                       std::string(todo[k].edit ? state::op::timelog_edit : state::op::timelog_add),
                       encode(TimelogIntent{todo[k].m->hash, in.user, in.job_id, in.date, in.hours, in.work_item}),
                       state::OutboxState::sent, 1, 0, 0});
    inputs.push_back(in);
  }
  const auto ids = pass_.store.outbox_add_many(intents);
  auto got = co_await pass_.limited(rep, [&] { return people_.add_update_timelogs(inputs); });
  if (auto* e = std::get_if<CallError>(&got)) {
    if (e->outcome == Outcome::permanent) {
      // The whole call was refused for what it carried: every item gets the reason.
      for (std::size_t k = i; k < j; ++k) {
        c.outbox_done.push_back(ids[k - i]);
        dead_letter(pass_, s, *todo[k].w, e->message, e->vendor_code, c, rep);
      }
      co_return true;
    }
    if (e->outcome == Outcome::in_doubt) {
      // The intents stay "sent"; the next batches go on, and People is
      // read back before these items are written again.
      pass_.log.with("stream", s.name)
          .warn("{}: in doubt; People is read back before anything is sent again", e->message);
      result.in_doubt = true;
      result.doubt = e->message;
      for (std::size_t k = i; k < j; ++k) result.doubtful.insert(todo[k].w->key);
      co_return true;
    }
    pass_.note_error(rep, *e);
    for (auto id : ids) c.outbox_done.push_back(id);
    co_return false;
  }
  const auto& res = std::get<connectors::BulkTimelogResult>(got);
  for (std::size_t k = i; k < j; ++k) {
    const auto& r = res.items[k - i];
    Work& w = *todo[k].w;
    if (r.kind == TimelogItemResult::Kind::failed && r.outcome == Outcome::in_doubt) {
      // Not matched to the reply for sure: read back before sending again.
      result.in_doubt = true;
      result.doubt = "people/addupdatetimelogs: " + r.message;
      result.doubtful.insert(w.key);
      continue;
    }
    c.outbox_done.push_back(ids[k - i]);
    if (r.kind == TimelogItemResult::Kind::failed) {
      if (r.outcome == Outcome::permanent) dead_letter(pass_, s, w, r.message, r.error_code, c, rep);
      else park(pass_, s, w, "time log not accepted yet: " + r.message, c, rep);
      continue;
    }
    const std::string id = r.timelog_id.empty() ? todo[k].in.timelog_id : r.timelog_id;
    c.id_map_upserts.push_back({s.name, w.key, id, todo[k].m->hash, 0, w.day});
    ++(r.kind == TimelogItemResult::Kind::edited ? rep.updated : rep.created);
    if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
  }
  co_return true;
}

awaitable<std::optional<std::vector<ReadBack>>> PeopleTimelogTarget::read_back(
    const config::Stream&, const std::vector<state::OutboxEntry>& doubtful, std::set<std::string>& mapped,
    StreamReport& rep) {
  std::vector<ReadBack> found;
  std::map<std::string, std::vector<connectors::PeopleTimelog>> logs_of;  // user -> logs around the doubtful dates
  for (const auto& e : doubtful) {
    if (e.op != state::op::timelog_add) continue;
    const TimelogIntent p = decode_timelog_intent(e.payload);
    if (!logs_of.count(p.user) && !co_await fetch_logs(p.user, doubtful, logs_of[p.user], rep)) co_return std::nullopt;
    for (const auto& t : logs_of[p.user]) {
      if (mapped.count(t.id)) continue;
      // Real gettimelogs replies carry no workItem (C2): a log is known by
      // its user, job, date and hours; each unmapped log answers for one
      // intent only, so two equal calls on one day take two logs.
      const bool same_user = iequals(t.user, p.user) || (!t.erecno.empty() && t.erecno == p.user);
      if (same_user && t.job_id == p.job_id && t.date == p.date &&
          (t.work_item.empty() || t.work_item == p.work_item) && minutes_of(t.hours) == minutes_of(p.hours)) {
        mapped.insert(t.id);
        found.push_back({e.id, t.id, p.hash});
        break;
      }
    }
  }
  co_return found;
}

// The time logs of one user on the dates of the doubtful adds: one paged
// gettimelogs per window of 28 days (People refuses more than a month: 9007).
awaitable<bool> PeopleTimelogTarget::fetch_logs(const std::string& user,
                                                const std::vector<state::OutboxEntry>& doubtful,
                                                std::vector<connectors::PeopleTimelog>& out, StreamReport& rep) {
  std::optional<SysTime> lo, hi;
  for (const auto& e : doubtful) {
    if (e.op != state::op::timelog_add) continue;
    const TimelogIntent p = decode_timelog_intent(e.payload);
    if (p.user != user) continue;
    auto d = parse_iso8601(p.date);
    if (!d) continue;
    if (!lo || *d < *lo) lo = *d;
    if (!hi || *d > *hi) hi = *d;
  }
  if (!lo) co_return true;
  for (SysTime from = *lo; from <= *hi; from += days(PeopleClient::kMaxTimelogReadDays)) {
    const SysTime to = std::min(*hi, from + days(PeopleClient::kMaxTimelogReadDays - 1));
    for (int s_index = 0;; s_index += PeopleClient::kPageSize) {
      connectors::TimelogQuery q;
      q.user = user;
      q.from_date = format_utc_iso_seconds(from).substr(0, 10);
      q.to_date = format_utc_iso_seconds(to).substr(0, 10);
      q.s_index = s_index;
      auto got = co_await pass_.limited(rep, [&] { return people_.get_timelogs(q); });
      if (auto* err = std::get_if<CallError>(&got)) {
        pass_.note_error(rep, *err);
        co_return false;
      }
      auto& pg = std::get<connectors::Page<connectors::PeopleTimelog>>(got);
      for (auto& t : pg.items) out.push_back(std::move(t));
      if (!pg.more || pg.items.empty()) break;
    }
  }
  co_return true;
}

awaitable<std::optional<CallError>> PeopleTimelogTarget::remove(const config::Stream& s, const std::string& key,
                                                                const std::string& target_id, state::Commit& c,
                                                                StreamReport& rep) {
  const std::int64_t intent = store_intent(pass_, s, key, state::op::timelog_delete, empty_intent());
  std::optional<CallError> err;
  const std::vector<std::string> ids{target_id};
  auto r = co_await pass_.limited(rep, [&] { return people_.delete_timelogs(ids); });
  if (auto* e = std::get_if<CallError>(&r)) err = *e;
  c.outbox_done.push_back(intent);
  if (err && err->outcome != Outcome::permanent) co_return err;
  if (err) pass_.log.with("stream", s.name).warn("deleting {} for {}: {}", target_id, key, err->message);
  c.id_map_deletes.emplace_back(s.name, key);
  co_return std::nullopt;
}

}  // namespace peoplesync::sync
