#include "sync/watermark_stream.hpp"

#include "common/timefmt.hpp"
#include "state/store.hpp"
#include "sync/batch.hpp"
#include "sync/parking.hpp"
#include "sync/reconcile.hpp"

namespace peoplesync::sync {
namespace {

using boost::asio::awaitable;
using connectors::CallError;

// Source pages (CRM: 200 records) are written in chunks of about this many
// records: one page of calls would fill one bulk time-log call and leave a
// second one part-empty, and ask for its references in a call of its own.
constexpr std::size_t kChunkRecords = 1000;
// Rounds per pass (a round ends early when writes stay in doubt).
constexpr int kRounds = 5;

enum class Round { done, stopped, again };

class WatermarkRun {
 public:
  WatermarkRun(Pass& pass, Resolution& resolution, const config::Stream& s, WatermarkSource& source, Target& target,
               StreamReport& rep)
      : pass_(pass), resolution_(resolution), s_(s), source_(source), target_(target), rep_(rep) {}

  awaitable<Round> round();

 private:
  awaitable<bool> read_changes();
  awaitable<bool> flush();
  awaitable<bool> take(std::vector<SourceRecord>&& recs, const Watermark& reached);
  void store_settled(const WalkStats& stats);
  awaitable<Step> deletions();
  awaitable<Step> remove_page(const connectors::Page<Deletion>& pg, std::optional<SysTime>& newest);
  awaitable<Step> leftovers();
  bool may_store(const std::string& t) const;
  awaitable<Step> write(std::vector<Work>& batch, std::map<std::string, std::int64_t>& parked_rows) {
    return write_settled(pass_, resolution_, s_, target_, batch, c_, rep_, shown_, parked_rows);
  }

  Pass& pass_;
  Resolution& resolution_;
  const config::Stream& s_;
  WatermarkSource& source_;
  Target& target_;
  StreamReport& rep_;
  Shown shown_;
  state::Commit c_;
  std::map<std::string, std::int64_t> parked_rows_;  // source key -> parked outbox row
  std::vector<Work> parked_;
  std::optional<SysTime> stored_time_;
  // Records gathered into a chunk; the checkpoint moves when a chunk is done.
  std::vector<Work> gathered_;
  std::map<std::string, std::size_t> gathered_index_;  // source key -> position in `gathered_`
  Watermark gathered_reached_;
  bool in_doubt_ = false;
};

bool WatermarkRun::may_store(const std::string& t) const {
  // Never move a stored checkpoint backwards (a --since backfill).
  const auto reached = parse_iso8601(t);
  return !pass_.opt.dry_run && reached && (!stored_time_ || *reached >= *stored_time_);
}

awaitable<Round> WatermarkRun::round() {
  parked_ = parked_work(pass_, s_, parked_rows_);
  // 1. Changes since the checkpoint (or since --since, for this run only).
  if (!co_await read_changes()) co_return in_doubt_ ? Round::again : Round::stopped;
  // 2. Deletions (before the parked records: a record deleted at the source
  // while it waited is dropped, never written from its parked copy).
  if (s_.on_delete != config::OnDelete::ignore) {
    auto r = co_await deletions();
    if (!r.ok) co_return r.in_doubt ? Round::again : Round::stopped;
  }
  // 3. Records parked earlier that no fresh read took over.
  auto r = co_await leftovers();
  if (!r.ok) co_return r.in_doubt ? Round::again : Round::stopped;
  co_return Round::done;
}

awaitable<bool> WatermarkRun::flush() {
  if (gathered_.empty()) co_return true;
  auto r = co_await write(gathered_, parked_rows_);
  if (r.ok && may_store(gathered_reached_.time))
    c_.checkpoints.push_back(
        {s_.name, gathered_reached_.time, {gathered_reached_.ids_at_time.begin(), gathered_reached_.ids_at_time.end()}, 0});
  pass_.commit(c_);
  gathered_.clear();
  gathered_index_.clear();
  pass_.report(rep_);
  in_doubt_ = r.in_doubt;
  co_return r.ok && !pass_.stop_requested;
}

awaitable<bool> WatermarkRun::take(std::vector<SourceRecord>&& recs, const Watermark& reached) {
  for (auto& r : recs) {
    // A record changed during the walk comes again: its newest copy counts
    // (two copies in one chunk would be two adds).
    auto [it, fresh] = gathered_index_.emplace(r.key, gathered_.size());
    if (fresh) {
      Work w;
      w.key = r.key;
      w.record = std::move(r.record);
      gathered_.push_back(std::move(w));
    } else {
      gathered_[it->second].record = std::move(r.record);
    }
  }
  rep_.read += static_cast<std::int64_t>(recs.size());
  gathered_reached_ = reached;
  if (gathered_.size() < kChunkRecords) co_return !pass_.stop_requested;
  co_return co_await flush();
}

// false: the round ends here (an error noted, a stop asked for, or writes in doubt).
awaitable<bool> WatermarkRun::read_changes() {
  const auto stored = pass_.store.checkpoint(s_.name);
  Watermark from;
  if (pass_.opt.since) {
    from.time = *pass_.opt.since;
  } else if (stored) {
    from.time = stored->watermark;
    from.ids_at_time.insert(stored->ids_at_watermark.begin(), stored->ids_at_watermark.end());
  }
  stored_time_ = stored ? parse_iso8601(stored->watermark) : std::nullopt;
  in_doubt_ = false;
  WatermarkSource::Sink sink = [this](std::vector<SourceRecord>&& recs, const Watermark& reached) {
    return take(std::move(recs), reached);
  };
  auto walked = co_await pass_.limited(rep_, [&] {
    gathered_.clear();  // a walk sent again starts over from `from`
    gathered_index_.clear();
    return source_.read_since(from, sink);
  });
  if (auto* e = std::get_if<CallError>(&walked)) {
    pass_.note_error(rep_, *e);
    in_doubt_ = false;
    co_return false;  // an unprocessed chunk is read again next time
  }
  const auto& stats = std::get<WalkStats>(walked);
  rep_.api_calls += stats.calls - 1;  // limited() counted one
  rep_.not_modified = rep_.not_modified || stats.not_modified;
  if (!in_doubt_ && rep_.error.empty() && !pass_.stop_requested) co_await flush();  // the last chunk
  if (in_doubt_ || !rep_.error.empty() || pass_.stop_requested) co_return false;
  store_settled(stats);
  co_return true;
}

// A walk that ended normally has a complete watermark (no ids): store it, so
// that the next poll of an unchanged module is one 304. Not when the
// watermark is recent: CRM times have whole seconds, and a record saved later
// in the watermark's own second (or stamped by a CRM clock a little behind
// ours) would not be newer than it. Until it is a minute old the checkpoint
// keeps the ids, and the next read asks from a second earlier.
void WatermarkRun::store_settled(const WalkStats& stats) {
  const auto reached_time = parse_iso8601(stats.reached.time);
  const bool settled = reached_time && *reached_time < pass_.clock.now() - std::chrono::minutes(1);
  if (stats.reached.ids_at_time.empty() && settled && may_store(stats.reached.time)) {
    state::Commit done;
    done.checkpoints.push_back({s_.name, stats.reached.time, {}, 0});
    pass_.store.commit(done);
  }
}

awaitable<Step> WatermarkRun::deletions() {
  const std::string cp_name = s_.name + "#deleted";
  const auto stored = pass_.store.checkpoint(cp_name);
  std::optional<std::string> since;
  std::optional<SysTime> newest;
  if (stored && !stored->watermark.empty()) {
    // Deletions are idempotent here, so ask from a second earlier: a tie on
    // the last second is read again rather than lost.
    if (auto t = parse_iso8601(stored->watermark)) {
      newest = *t;
      since = format_utc_iso_seconds(*t - std::chrono::seconds(1));
    }
  }
  for (int page = 1;; ++page) {
    auto got = co_await pass_.limited(rep_, [&] { return source_.deleted_since(since, page); });
    if (auto* e = std::get_if<CallError>(&got)) {
      pass_.note_error(rep_, *e);
      co_return stopped();
    }
    const auto& pg = std::get<connectors::Page<Deletion>>(got);
    auto r = co_await remove_page(pg, newest);
    if (!r.ok) co_return r;
    if (!pg.more) {
      if (newest) c_.checkpoints.push_back({cp_name, format_utc_iso_seconds(*newest), {}, 0});
      pass_.commit(c_);
      break;
    }
    pass_.commit(c_);
  }
  co_return Step{};
}

awaitable<Step> WatermarkRun::remove_page(const connectors::Page<Deletion>& pg, std::optional<SysTime>& newest) {
  std::vector<std::pair<std::string, std::string>> targets;  // (source key, target id)
  for (const auto& d : pg.items) {
    if (auto t = parse_iso8601(d.time); t && (!newest || *t > *newest)) newest = *t;
    // A target already kept for this deletion is left alone: the read from a
    // second earlier brings the last second's deletions on every pass until
    // a newer one moves the watermark.
    if (auto m = pass_.store.id_map_get(s_.name, d.key); m && m->hash.rfind(kDeletedHashPrefix, 0) != 0)
      targets.emplace_back(d.key, m->target_id);
    if (auto p = parked_rows_.find(d.key); p != parked_rows_.end()) {
      // Waiting to be written, now deleted at the source: it never will be.
      if (pass_.opt.dry_run) {
        pass_.plan(rep_, shown_, "drop waiting record (deleted in CRM)", d.key);
      } else {
        c_.outbox_done.push_back(p->second);
        pass_.log.with("stream", s_.name).info("record {} was deleted in CRM while it waited; dropped", d.key);
      }
      parked_rows_.erase(p);
    }
  }
  for (const auto& [key, id] : targets) {
    if (pass_.stop_requested) co_return stopped();
    if (pass_.opt.dry_run) {
      pass_.plan(rep_, shown_, target_.remove_plan(s_), id + " for " + key);
      ++rep_.deleted;
      continue;
    }
    if (auto err = co_await target_.remove(s_, key, id, c_, rep_)) {
      const bool doubt = err->outcome == connectors::Outcome::in_doubt;
      if (!doubt) pass_.note_error(rep_, *err);
      pass_.commit(c_);
      co_return Step{false, doubt, err->message, {}};
    }
    ++rep_.deleted;
  }
  co_return Step{};
}

awaitable<Step> WatermarkRun::leftovers() {
  std::vector<Work> left;
  for (auto& w : parked_)
    if (parked_rows_.count(w.key) && parked_rows_[w.key] == *w.parked_row) left.push_back(std::move(w));
  for (std::size_t i = 0; i < left.size(); i += kChunkRecords) {
    std::vector<Work> chunk(
        std::make_move_iterator(left.begin() + static_cast<std::ptrdiff_t>(i)),
        std::make_move_iterator(left.begin() + static_cast<std::ptrdiff_t>(std::min(left.size(), i + kChunkRecords))));
    std::map<std::string, std::int64_t> none;
    auto r = co_await write(chunk, none);
    pass_.commit(c_);
    pass_.report(rep_);
    if (!r.ok) co_return r;
  }
  co_return Step{};
}

}  // namespace

awaitable<void> run_watermark_stream(Pass& pass, Resolution& resolution, const config::Stream& s,
                                     WatermarkSource& source, Target& target, StreamReport& rep) {
  for (int round = 0; round < kRounds; ++round) {
    if (!co_await reconcile(pass, s, target, rep)) co_return;
    WatermarkRun run(pass, resolution, s, source, target, rep);
    const Round r = co_await run.round();
    if (r == Round::done) rep.completed = true;
    if (r != Round::again) co_return;
    // A write is in doubt: read the target back, then read the source again.
  }
  rep.error = "gave up after repeated in-doubt writes; the next run reconciles them";
  if (pass.worst != RunOutcome::auth) pass.worst = RunOutcome::temporary;
}

}  // namespace peoplesync::sync
