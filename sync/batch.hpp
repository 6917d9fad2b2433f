#pragma once
// One batch of source records through the mapping into a target: references
// resolved for the whole batch first, each record filtered (`where`) and
// mapped, what cannot be mapped parked or dead-lettered, the rest written.
// A batch whose writes are in doubt is settled where it happened: what was
// confirmed is committed, the target is read back (reconcile) and the
// records in doubt are processed again, which writes only what is still
// missing. Scattered server errors thus cost a read-back, not the pass.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sync/pass.hpp"
#include "sync/resolution.hpp"
#include "sync/target.hpp"

namespace peoplesync::sync {

// In-doubt episodes in a row, with nothing confirmed in between, before a
// stream stops.
inline constexpr int kDoubtBudget = 5;

// Maps a batch and writes it to `target` until none of its writes is in
// doubt. `parked_rows`: source key -> outbox row of records parked earlier;
// a fresh read of one takes its row over (and removes it from the map).
// The stream stops (ok false) when its writes stay in doubt kDoubtBudget
// read-backs in a row with nothing confirmed in between, naming the endpoint.
boost::asio::awaitable<Step> write_settled(Pass& pass, Resolution& resolution, const config::Stream& s,
                                           Target& target, std::vector<Work>& batch, state::Commit& c,
                                           StreamReport& rep, Shown& shown,
                                           std::map<std::string, std::int64_t>& parked_rows);

// Maps one record; what cannot be mapped is set aside (a plan line in a dry
// run) and nullopt returned: dead-lettered, or parked when it waits for a
// reference and the stream can take it up again (`parking`).
enum class Parking { allowed, none };
std::optional<Mapped> map_or_set_aside(Pass& pass, Resolution& resolution, const config::Stream& s, const Work& w,
                                       state::Commit& c, StreamReport& rep, Shown& shown,
                                       Parking parking = Parking::allowed);

}  // namespace peoplesync::sync
