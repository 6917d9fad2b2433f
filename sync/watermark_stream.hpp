#pragma once
// A stream fed by a watermark source (CRM -> People): each round reads what
// changed since the checkpoint in chunks of about 1,000 records, writes each
// chunk and moves the checkpoint with it; then the source's deletions; then
// the records parked earlier that no fresh read took over. A round whose
// writes stay in doubt ends early and the next one starts with a read-back.
#include <boost/asio/awaitable.hpp>

#include "sync/pass.hpp"
#include "sync/resolution.hpp"
#include "sync/source.hpp"
#include "sync/target.hpp"

namespace peoplesync::sync {

boost::asio::awaitable<void> run_watermark_stream(Pass& pass, Resolution& resolution, const config::Stream& s,
                                                  WatermarkSource& source, Target& target, StreamReport& rep);

}  // namespace peoplesync::sync
