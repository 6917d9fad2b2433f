#pragma once
// What every connector call returns: a value, or a CallError that says what
// to do about it (the Outcome) and names the endpoint; and one page of a
// paged list.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "connectors/retry.hpp"

namespace peoplesync::connectors {

struct CallError {
  Outcome outcome = Outcome::retry;  // auth, retry, ...
  std::string message;               // names the endpoint and what to do
  std::string vendor_code;           // e.g. "invalid_code", "INVALID_TOKEN", "7209"
  std::optional<Millis> retry_after;  // when the server said how long to wait
};

template <class T>
using Expected = std::variant<T, CallError>;

template <class T>
struct Page {
  std::vector<T> items;
  bool more = false;  // another page follows (People: isNextAvailable)
};

}  // namespace peoplesync::connectors
