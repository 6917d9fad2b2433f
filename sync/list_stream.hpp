#pragma once
// A stream fed by a full-list source: the write-back (People jobs ->
// crm.update). Every job made by the stream `of_stream` is read, mapped and
// written to the record it was made from; records deleted at the source
// (their job kept completed) are left out.
#include <boost/asio/awaitable.hpp>

#include "sync/pass.hpp"
#include "sync/resolution.hpp"
#include "sync/source.hpp"
#include "sync/target.hpp"

namespace peoplesync::sync {

boost::asio::awaitable<void> run_list_stream(Pass& pass, Resolution& resolution, const config::Stream& s,
                                             ListSource& source, Target& target, StreamReport& rep);

}  // namespace peoplesync::sync
