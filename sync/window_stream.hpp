#pragma once
// A stream fed by a window source (Zoho Projects task logs, Zoho Books time
// entries: no modified-since exists there). Each poll re-reads the window
// [from_day, to_day] whole; each record's mapping is hashed and only what
// changed is written (the target compares with the id map); a record read
// before in this window and missing now was deleted at the source, and its
// target is removed, but only when the read was complete, never from a
// partial one. Records outside the window are left alone.
#include <boost/asio/awaitable.hpp>

#include <string>

#include "sync/pass.hpp"
#include "sync/resolution.hpp"
#include "sync/source.hpp"
#include "sync/target.hpp"

namespace peoplesync::sync {

struct Window {
  std::string from_day, to_day;  // yyyy-MM-dd, both included
};

boost::asio::awaitable<void> run_window_stream(Pass& pass, Resolution& resolution, const config::Stream& s,
                                               WindowSource& source, Target& target, const Window& window,
                                               StreamReport& rep);

}  // namespace peoplesync::sync
