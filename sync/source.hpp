#pragma once
// Where a stream learns about change. Three kinds, one per way a vendor API
// lets us see it:
//  - a watermark (CRM): records modified since a stored point, in order,
//    ties on the last second kept by id; deletions from their own list;
//  - a window (Zoho Projects logs, Zoho Books time entries: no
//    modified-since exists there): a span of days re-read whole and diffed
//    against the id map by the engine;
//  - a full list (People jobs, for the write-back): every record, page by
//    page.
// A source hands over typed records; it writes nothing and keeps no state:
// checkpoints are the engine's, stored with the writes they cover.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/value.hpp"
#include "connectors/result.hpp"

namespace peoplesync::sync {

struct SourceRecord {
  std::string key;        // the source's id of the record
  Value record;           // what templates read
  std::string day;        // window sources: the record's day, yyyy-MM-dd
  std::string target_id;  // where it is already known to go (the write-back's CRM record)
};

// A point in a watermark walk (see connectors::CrmWatermark): every record up
// to `time` handed over, except that at `time` itself only `ids_at_time`
// were when that set is not empty.
struct Watermark {
  std::string time;  // empty: from the beginning
  std::set<std::string> ids_at_time;
};

struct WalkStats {
  std::int64_t calls = 0;
  bool not_modified = false;  // the first call said nothing changed
  Watermark reached;          // complete (no ids) when the walk ended normally
};

struct Deletion {
  std::string key;
  std::string time;  // when it was deleted, ISO-8601
};

class WatermarkSource {
 public:
  virtual ~WatermarkSource() = default;
  // Receives each batch in ascending time, and the point reached once the
  // batch is processed; false stops the walk.
  using Sink = std::function<boost::asio::awaitable<bool>(std::vector<SourceRecord>&&, const Watermark& reached)>;
  virtual boost::asio::awaitable<connectors::Expected<WalkStats>> read_since(const Watermark& from, Sink sink) = 0;
  // One page (from 1) of the records deleted since `since` (all when nullopt).
  virtual boost::asio::awaitable<connectors::Expected<connectors::Page<Deletion>>> deleted_since(
      const std::optional<std::string>& since, int page) = 0;
};

struct WindowRead {
  std::vector<SourceRecord> records;
  std::int64_t calls = 0;
  bool complete = true;  // false: the read stopped short; nothing may be concluded from what is missing
};

class WindowSource {
 public:
  virtual ~WindowSource() = default;
  // Every record whose day is in [from_day, to_day] (yyyy-MM-dd).
  virtual boost::asio::awaitable<connectors::Expected<WindowRead>> read_window(const std::string& from_day,
                                                                              const std::string& to_day) = 0;
};

class ListSource {
 public:
  virtual ~ListSource() = default;
  // Page `index` (from 0) of the whole list.
  virtual boost::asio::awaitable<connectors::Expected<connectors::Page<SourceRecord>>> page(int index) = 0;
};

}  // namespace peoplesync::sync
