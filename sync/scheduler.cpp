#include "sync/scheduler.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>
#include <exception>

#include "common/log.hpp"
#include "config/catalog.hpp"
#include "state/store.hpp"
#include "sync/limiter.hpp"

namespace peoplesync::sync {
namespace {

using Steady = std::chrono::steady_clock::time_point;
constexpr Millis kDefaultLock{std::chrono::minutes{5}};
constexpr const char* kPeopleDaily = "people";

bool is_people(const std::string& endpoint) {
  if (const auto* def = config::find_endpoint(endpoint)) return def->kind == config::LimitKind::people_endpoint;
  return endpoint.rfind("people/", 0) == 0;
}

double seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

// A caller queued for admission. It sleeps on a timer that never expires and
// is woken by cancelling it (its turn came, or a concurrency slot was freed);
// `woken` covers a wake-up that arrives before the wait starts.
class Waiter {
 public:
  explicit Waiter(const boost::asio::any_io_executor& ex) : timer_(ex, Steady::max()) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  void wake() {
    woken_ = true;
    timer_.cancel();
  }
  boost::asio::awaitable<void> wait() {
    if (!woken_) co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    woken_ = false;
  }

 private:
  boost::asio::steady_timer timer_;
  bool woken_ = false;
};

}  // namespace

struct Scheduler::Lane {
  Lane(std::string n, const config::Limit& lim, bool is_known, const SchedulerOptions& o)
      : name(std::move(n)),
        limit(lim),
        known(is_known),
        people(is_people(name)),
        limiter(lim.per_minute, o.window, o.margin, lim.daily_credits > 0 ? lim.daily_credits : lim.daily_calls,
                o.budget_period, o.budget_bucket),
        window(o.window),
        log("scheduler", {{"endpoint", name}}) {}

  // Admissions in the last window, for reporting (unlimited lanes too).
  void note(Steady now) {
    recent.push_back(now);
    trim(now);
  }
  void trim(Steady now) {
    while (!recent.empty() && recent.front() <= now - window) recent.pop_front();
  }
  int calls_in_window(Steady now) const {
    return static_cast<int>(std::count_if(recent.begin(), recent.end(), [&](Steady t) { return t > now - window; }));
  }
  void wake_head() {
    if (!queue.empty()) queue.front()->wake();
  }
  // Persisted on every admission (others only on signals and at flush).
  bool persist_each_call() const { return limit.per_minute > 0 || limiter.budget().tracked(); }
  // The longest pause this lane can be given: what a persisted pause end is cut to.
  Millis max_pause(const SchedulerOptions& o) const {
    return people ? (limit.lock.count() > 0 ? limit.lock : kDefaultLock) : std::max(o.max_retry_after, o.backoff_cap);
  }

  std::string name;
  config::Limit limit;
  bool known;
  bool people;  // counts towards the People daily cap
  EndpointLimiter limiter;
  Millis window;
  std::deque<Steady> recent;
  std::deque<Waiter*> queue;  // FIFO; the head is the one computing its wait
  int in_flight = 0;
  std::int64_t lock_count = 0;
  std::int64_t rate_limited = 0;
  std::int64_t admitted = 0;
  std::int64_t waited_calls = 0;
  Steady::duration waited{};
  int backoff_streak = 0;
  bool dirty = false;
  log::Logger log;
};

namespace {

// A place in a lane's queue, for the life of one admit() call (the queue
// entry is removed however the coroutine ends, and the next caller woken).
class Ticket {
 public:
  Ticket(std::shared_ptr<Scheduler::Lane> lane, const boost::asio::any_io_executor& ex)
      : lane_(std::move(lane)), waiter_(ex) {
    lane_->queue.push_back(&waiter_);
  }
  ~Ticket() {
    auto& q = lane_->queue;
    const bool was_head = !q.empty() && q.front() == &waiter_;
    q.erase(std::find(q.begin(), q.end(), &waiter_));
    if (was_head) lane_->wake_head();
  }
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;

  bool head() const { return lane_->queue.front() == &waiter_; }
  boost::asio::awaitable<void> wait() { return waiter_.wait(); }

 private:
  std::shared_ptr<Scheduler::Lane> lane_;
  Waiter waiter_;
};

// One call in flight; its release frees a concurrency slot and wakes the head.
class Slot final : public connectors::Admission {
 public:
  explicit Slot(std::shared_ptr<Scheduler::Lane> lane) : lane_(std::move(lane)) { ++lane_->in_flight; }
  ~Slot() override {
    --lane_->in_flight;
    lane_->wake_head();
  }

 private:
  std::shared_ptr<Scheduler::Lane> lane_;
};

}  // namespace

// ---------------------------------------------------------------- set-up

Scheduler::Scheduler(const std::map<std::string, config::Limit>& limits, state::Store* store, const Clock& clock,
                     connectors::Sleeper& sleeper, SchedulerOptions options)
    : limits_(limits), store_(store), clock_(clock), sleeper_(sleeper), options_(options) {
  if (options_.window <= Millis{0}) options_.window = Millis{60'000};
  options_.margin = std::max(options_.margin, Millis{0});
  options_.backoff_base = std::max(options_.backoff_base, Millis{1});
  options_.backoff_cap = std::max(options_.backoff_cap, options_.backoff_base);
  if (!(options_.background_share > 0)) options_.background_share = 1.0;
  options_.background_share = std::min(options_.background_share, 1.0);
  for (const auto& [name, limit] : limits_) {
    auto l = std::make_shared<Lane>(name, limit, true, options_);
    load(*l);
    lanes_.emplace(name, std::move(l));
  }
}

Scheduler::~Scheduler() {
  try {
    flush();
  } catch (const std::exception&) {
    // persist() already logs and swallows store errors; nothing else may escape a destructor.
  }
}

Scheduler::Lane& Scheduler::lane(const std::string& endpoint) {
  auto it = lanes_.find(endpoint);
  if (it != lanes_.end()) return *it->second;
  // Not in the catalogue: admitted unshaped, but counted and reported.
  auto l = std::make_shared<Lane>(endpoint, config::Limit{0, kDefaultLock, 0, 0, 0}, false, options_);
  l->log.warn("endpoint has no configured limit; its calls are not shaped");
  load(*l);
  return *lanes_.emplace(endpoint, std::move(l)).first->second;
}

const Scheduler::Lane* Scheduler::find(const std::string& endpoint) const {
  auto it = lanes_.find(endpoint);
  return it == lanes_.end() ? nullptr : it->second.get();
}

Scheduler::Lane* Scheduler::people_lane(const Lane& l) const {
  if (!l.people || l.name == kPeopleDaily) return nullptr;
  auto it = lanes_.find(kPeopleDaily);
  return it == lanes_.end() ? nullptr : it->second.get();
}

std::int64_t Scheduler::allowance(std::int64_t capacity) const {
  if (priority_ == Priority::interactive) return capacity;
  const auto share = static_cast<std::int64_t>(static_cast<double>(capacity) * options_.background_share);
  return std::max<std::int64_t>(1, share);
}

Steady Scheduler::ready_at(const Lane& l, Steady now, std::int64_t cost) const {
  Steady ready = l.limiter.next_admission(now);
  const RollingBudget& own = l.limiter.budget();
  ready = std::max(ready, own.next_free(now, cost, allowance(own.capacity())));
  if (const Lane* p = people_lane(l)) {
    const RollingBudget& daily = p->limiter.budget();
    ready = std::max(ready, daily.next_free(now, 1, allowance(daily.capacity())));
  }
  return ready;
}

// ---------------------------------------------------------------- CallGate

boost::asio::awaitable<connectors::AdmissionPtr> Scheduler::admit(const std::string& endpoint, int cost) {
  lane(endpoint);  // creates an unknown endpoint's lane
  std::shared_ptr<Lane> l = lanes_.at(endpoint);
  const Steady start = clock_.steady_now();
  const std::int64_t credits = std::max(cost, 0);
  Ticket ticket(l, co_await boost::asio::this_coro::executor);
  bool waited = false;  // on a real clock time always moves: count only real waits
  while (!ticket.head()) {
    waited = true;
    co_await ticket.wait();
  }
  for (;;) {
    const Steady now = clock_.steady_now();
    const Steady ready = ready_at(*l, now, credits);
    if (ready > now) {
      // One computed wait; a lock or 429 reported meanwhile is seen on waking.
      const Millis wait = std::chrono::ceil<Millis>(ready - now);
      if (l->limiter.paused(now) && ready == l->limiter.paused_until())
        l->log.info("paused after a lock or 429: waiting {} s", (wait.count() + 999) / 1000);
      else if (ready > l->limiter.log().next_free(now))
        l->log.info("daily budget used up: waiting {} s", (wait.count() + 999) / 1000);
      else
        l->log.debug("threshold reached: waiting {} ms", wait.count());
      waited = true;
      co_await sleeper_.sleep_for(wait);
      continue;
    }
    if (l->limit.concurrency > 0 && l->in_flight >= l->limit.concurrency) {
      waited = true;
      co_await ticket.wait();  // woken when an admission of this lane is released
      continue;
    }
    break;
  }
  const Steady now = clock_.steady_now();
  l->limiter.admit(now, credits);
  l->note(now);
  ++l->admitted;
  if (waited) {
    ++l->waited_calls;
    l->waited += now - start;
  }
  l->dirty = true;
  if (l->persist_each_call()) persist(*l);
  if (Lane* p = people_lane(*l)) {
    p->limiter.admit(now, 1);
    p->note(now);
    ++p->admitted;
    p->dirty = true;
    if (p->persist_each_call()) persist(*p);
  }
  co_return std::make_unique<Slot>(l);
}

void Scheduler::limited(const std::string& endpoint, connectors::LimitSignal signal,
                        std::optional<Millis> retry_after) {
  Lane& l = lane(endpoint);
  const Steady now = clock_.steady_now();
  Millis pause{0};
  if (signal == connectors::LimitSignal::locked) {
    pause = l.limit.lock.count() > 0 ? l.limit.lock : kDefaultLock;
    l.log.warn("the server locked the endpoint (threshold exceeded); pausing it for {} s", pause.count() / 1000);
  } else {
    ++l.rate_limited;
    // A 429 long after the previous pause ended starts the back-off afresh.
    if (l.limiter.paused_until() + options_.backoff_cap < now) l.backoff_streak = 0;
    if (retry_after) {
      pause = std::clamp(*retry_after, options_.backoff_base, std::max(options_.max_retry_after, options_.backoff_base));
    } else {
      const int shift = std::min(l.backoff_streak, 20);
      pause = std::min(options_.backoff_cap, options_.backoff_base * (std::int64_t{1} << shift));
    }
    ++l.backoff_streak;
    l.log.warn("HTTP 429 (credits or concurrency); pausing for {} ms{}", pause.count(),
               retry_after ? " (Retry-After)" : "");
  }
  ++l.lock_count;
  l.limiter.pause_until(now + pause);
  l.dirty = true;
  persist(l);
}

Millis Scheduler::wait_estimate(const std::string& endpoint, int cost) const {
  const Lane* l = find(endpoint);
  if (!l) return Millis{0};
  const Steady now = clock_.steady_now();
  return std::chrono::ceil<Millis>(ready_at(*l, now, std::max(cost, 0)) - now);
}

// ---------------------------------------------------------------- reporting

namespace {

EndpointSnapshot snapshot_of(const Scheduler::Lane& l, const TimeBase& b) {
  EndpointSnapshot s;
  s.endpoint = l.name;
  s.per_minute = l.limit.per_minute;
  s.calls_in_window = l.calls_in_window(b.steady);
  const SlidingLog& log = l.limiter.log();
  s.available_now = log.unlimited() ? -1 : std::max(0, log.limit() - log.count_after(b.steady - log.span()));
  if (l.limit.concurrency > 0) {
    const int free_slots = std::max(0, l.limit.concurrency - l.in_flight);
    s.available_now = s.available_now < 0 ? free_slots : std::min(s.available_now, free_slots);
  }
  if (l.limiter.paused(b.steady)) s.available_now = 0;
  if (s.available_now == 0) {
    const Steady next = l.limiter.next_admission(b.steady);
    if (next > b.steady) s.next_admission_in = std::chrono::ceil<Millis>(next - b.steady);
  }
  s.concurrency = l.limit.concurrency;
  s.in_flight = l.in_flight;
  s.queued = static_cast<int>(l.queue.size());
  if (l.limiter.paused(b.steady))
    s.paused_until = b.wall + std::chrono::duration_cast<Millis>(l.limiter.paused_until() - b.steady);
  s.lock_count = l.lock_count;
  s.rate_limited = l.rate_limited;
  s.admitted = l.admitted;
  s.waited_calls = l.waited_calls;
  s.wait_seconds = seconds(l.waited);
  s.daily_used = l.limiter.budget().used(b.steady);
  s.daily_budget = l.limiter.budget().capacity();
  s.daily_remaining = l.limiter.budget().remaining(b.steady);
  return s;
}

}  // namespace

std::vector<EndpointSnapshot> Scheduler::snapshot() const {
  const TimeBase b = read_time_base(clock_);
  std::vector<EndpointSnapshot> out;
  out.reserve(lanes_.size());
  for (const auto& [name, l] : lanes_) out.push_back(snapshot_of(*l, b));
  return out;
}

std::optional<EndpointSnapshot> Scheduler::snapshot(const std::string& endpoint) const {
  const Lane* l = find(endpoint);
  if (!l) return std::nullopt;
  return snapshot_of(*l, read_time_base(clock_));
}

// ---------------------------------------------------------------- persistence

void Scheduler::load(Lane& l) {
  if (!store_) return;
  std::optional<state::EndpointState> s;
  try {
    s = store_->endpoint_state(l.name);
  } catch (const std::exception& e) {
    l.log.error("cannot read the limiter state ({}); starting this endpoint empty", e.what());
    return;
  }
  if (!s) return;
  const TimeBase b = read_time_base(clock_);
  std::vector<SteadyTime> calls;
  calls.reserve(s->recent_calls_ms.size());
  for (std::int64_t ms : s->recent_calls_ms) calls.push_back(from_wall_ms(b, ms));
  std::sort(calls.begin(), calls.end());
  l.limiter.log().restore(calls);
  for (SteadyTime t : calls)
    if (t > b.steady - l.window) l.recent.push_back(t);
  const std::int64_t now_ms = to_unix_ms(b.wall);
  if (s->locked_until_ms > now_ms) {
    // A pause end further away than this lane's longest pause was written
    // before the wall clock stepped back: cut it to that longest pause.
    const Millis left = std::min(Millis{s->locked_until_ms - now_ms}, l.max_pause(options_));
    l.limiter.pause_until(b.steady + left);
  }
  l.lock_count = s->lock_count;
  std::vector<RollingBudget::Bucket> buckets;
  for (const auto& u : s->daily_log) buckets.push_back({from_wall_ms(b, u.start_ms), u.amount});
  if (buckets.empty() && s->daily_used > 0) {
    // Usage without its history (written by an older build): count it from
    // the row's last update, the conservative reading.
    buckets.push_back({from_wall_ms(b, s->updated_at_ms), s->daily_used});
  }
  l.limiter.budget().restore(std::move(buckets), b.steady);
}

void Scheduler::persist(Lane& l) {
  if (!store_) return;
  const TimeBase b = read_time_base(clock_);
  state::EndpointState s;
  s.endpoint = l.name;
  for (SteadyTime t : l.limiter.log().times()) s.recent_calls_ms.push_back(to_wall_ms(b, t));
  if (l.limiter.log().unlimited()) {
    for (SteadyTime t : l.recent) s.recent_calls_ms.push_back(to_wall_ms(b, t));
  }
  s.locked_until_ms = l.limiter.paused(b.steady) ? to_wall_ms(b, l.limiter.paused_until()) : 0;
  s.lock_count = l.lock_count;
  s.daily_used = l.limiter.budget().used(b.steady);
  for (const auto& bucket : l.limiter.budget().buckets())
    s.daily_log.push_back({to_wall_ms(b, bucket.start), bucket.amount});
  s.updated_at_ms = to_unix_ms(b.wall);
  try {
    store_->save_endpoint_state(s);
    l.dirty = false;
  } catch (const std::exception& e) {
    // Shaping in this process is unaffected; only a restart would start afresh.
    l.log.error("cannot save the limiter state: {}", e.what());
  }
}

void Scheduler::flush() {
  for (auto& [name, l] : lanes_)
    if (l->dirty) persist(*l);
}

}  // namespace peoplesync::sync
