#pragma once
// Records that cannot be written now. A record that must wait (a reference
// Zoho has not synced yet, a lookup the other stream has not written) is
// parked in the outbox with its source record and tried again on later
// passes; once it has waited `max_park_attempts` passes, or when it can never
// be written, it is dead-lettered with the reason and the vendor's code.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sync/pass.hpp"

namespace peoplesync::state {
struct Commit;
}

namespace peoplesync::sync {

void park(Pass& pass, const config::Stream& s, const Work& w, const std::string& reason, state::Commit& c,
          StreamReport& rep);

void dead_letter(Pass& pass, const config::Stream& s, const Work& w, const std::string& reason,
                 const std::string& code, state::Commit& c, StreamReport& rep);

// Records parked earlier (and records re-queued by `peoplesync retry`);
// `parked_rows` gets source key -> outbox row of each.
std::vector<Work> parked_work(Pass& pass, const config::Stream& s, std::map<std::string, std::int64_t>& parked_rows);

// A fresh read of a parked record takes over its parked row (its copy in the
// outbox is done when the fresh one is).
void take_over_parked(std::vector<Work>& batch, std::map<std::string, std::int64_t>& parked_rows);

}  // namespace peoplesync::sync
