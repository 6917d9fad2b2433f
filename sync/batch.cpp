#include "sync/batch.hpp"

#include "state/store.hpp"
#include "sync/parking.hpp"
#include "sync/reconcile.hpp"

namespace peoplesync::sync {
namespace {

using boost::asio::awaitable;

std::int64_t confirmed(const StreamReport& rep) {
  return rep.created + rep.updated + rep.status_changes + rep.reconciled;
}

bool needs_projects(const config::Stream& s) {
  for (const auto& [k, mv] : s.map)
    if (std::holds_alternative<config::ProjectByName>(mv.value)) return true;
  return false;
}

awaitable<Step> process(Pass& pass, Resolution& resolution, const config::Stream& s, Target& target,
                        std::vector<Work>& batch, state::Commit& c, StreamReport& rep, Shown& shown,
                        std::map<std::string, std::int64_t>& parked_rows) {
  if (!co_await resolution.resolve_batch(s, batch, rep)) co_return stopped();
  if (needs_projects(s) && !co_await resolution.load_projects(rep)) co_return stopped();
  take_over_parked(batch, parked_rows);
  std::vector<Ready> ready;
  for (auto& w : batch) {
    if (!passes_where(s, w.record)) {
      ++rep.filtered;
      if (w.parked_row) c.outbox_done.push_back(*w.parked_row);
      continue;
    }
    if (auto m = map_or_set_aside(pass, resolution, s, w, c, rep, shown)) ready.emplace_back(std::move(w), std::move(*m));
  }
  co_return co_await target.write(s, ready, c, rep, shown);
}

}  // namespace

std::optional<Mapped> map_or_set_aside(Pass& pass, Resolution& resolution, const config::Stream& s, const Work& w,
                                       state::Commit& c, StreamReport& rep, Shown& shown, Parking parking) {
  auto m = map_record(s, w.record, pass.ctx, resolution);
  if (auto* f = std::get_if<MapFailure>(&m)) {
    const bool invalid = f->kind == MapFailure::Kind::invalid || parking == Parking::none;
    if (pass.opt.dry_run) {
      pass.plan(rep, shown, invalid ? "dead letter" : "wait", w.key + ": " + f->reason);
      ++(invalid ? rep.dead_lettered : rep.parked);
    } else if (invalid) {
      dead_letter(pass, s, w, f->reason, "", c, rep);
    } else {
      park(pass, s, w, f->reason, c, rep);
    }
    return std::nullopt;
  }
  return std::get<Mapped>(std::move(m));
}

awaitable<Step> write_settled(Pass& pass, Resolution& resolution, const config::Stream& s, Target& target,
                              std::vector<Work>& batch, state::Commit& c, StreamReport& rep, Shown& shown,
                              std::map<std::string, std::int64_t>& parked_rows) {
  take_over_parked(batch, parked_rows);
  std::vector<Work> todo = batch;
  for (int fruitless = 0;;) {
    const std::int64_t before = confirmed(rep);
    std::vector<Work> attempt = todo;
    Step r = co_await process(pass, resolution, s, target, attempt, c, rep, shown, parked_rows);
    if (!r.ok || !r.in_doubt || pass.opt.dry_run) co_return r;
    pass.commit(c);
    if (!co_await reconcile(pass, s, target, rep)) co_return stopped();
    fruitless = confirmed(rep) > before ? 0 : fruitless + 1;
    if (fruitless >= kDoubtBudget) {
      pass.note_error(rep, connectors::CallError{connectors::Outcome::retry,
                                                 r.doubt + " (writes still in doubt after " +
                                                     std::to_string(kDoubtBudget) +
                                                     " read-backs in a row; the endpoint keeps failing, the next run "
                                                     "goes on)",
                                                 "", std::nullopt});
      co_return stopped();
    }
    std::erase_if(todo, [&](const Work& w) { return !r.doubtful.count(w.key); });
    pass.log.with("stream", s.name).info("{} record(s) in doubt read back; writing what People lacks", todo.size());
  }
}

}  // namespace peoplesync::sync
