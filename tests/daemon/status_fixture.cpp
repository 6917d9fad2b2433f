#include "tests/daemon/status_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/timefmt.hpp"
#include "config/loader.hpp"

namespace peoplesync::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::minutes;
using std::chrono::seconds;

config::ConfigPtr load_example() {
  std::ifstream in(std::string(PEOPLESYNC_SOURCE_DIR) + "/examples/config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  config::LoadOptions o;
  o.require_secrets = false;
  o.getenv = [](const std::string&) -> std::optional<std::string> { return "x"; };
  auto r = config::load_config_text(ss.str(), "examples/config.yaml", o);
  if (!r.ok()) throw std::runtime_error("examples/config.yaml does not load: " + r.errors.front().format());
  return r.config;
}

}  // namespace

StatusFixture::StatusFixture(const std::string& d)
    : dir(d), clock(*parse_iso8601("2024-06-01T12:00:00Z")), config(load_example()) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  store = state::Store::open((fs::path(dir) / "state.db").string(), clock);

  // Yesterday: one finished daemon run.
  clock.advance(-std::chrono::hours(24));
  const auto run = store->begin_run("run-once");
  clock.advance(minutes(3));
  store->finish_run(run, 4, "deals: 40 written; calls: 118 written, 2 dead-lettered");
  clock.advance(std::chrono::hours(24) - minutes(3) - minutes(30));

  // Half an hour ago: progress with two dead letters.
  state::Commit c;
  c.checkpoints.push_back({"deals", "2024-06-01T11:40:00+00:00", {"4150868000001234001"}, 0});
  c.checkpoints.push_back({"calls", "2024-06-01T09:00:00Z", {}, 0});
  c.checkpoints.push_back({"retired_stream", "2024-01-01T00:00:00Z", {}, 0});
  c.dead_letters.push_back({0, "calls", "4150868000009876001", kReasonClosedJob, "9025", "{}", 3, 0, 0});
  c.dead_letters.push_back({0, "deals", "4150868000001230077", kReasonMissingField, "", "{}", 1, 0, 0});
  store->commit(c);
  store->outbox_add_many({{0, "calls", "4150868000009876002", "timelog.upsert", "{}", state::OutboxState::in_doubt, 0,
                           0, 0}});
  store->outbox_add_many({{0, "deals", "4150868000001234002", "job.modify", "{}", state::OutboxState::pending, 0, 0, 0}});
  store->ref_cache_put({{"Zoho Projects", "project", "PRJ-77", "", 2, to_unix_ms(clock.now())}});
  clock.advance(minutes(30));

  // Now (2024-06-01T12:00:00Z): addupdatetimelogs locked for 4 more minutes.
  const std::int64_t now_ms = to_unix_ms(clock.now());
  store->save_endpoint_state(
      {"people/addupdatetimelogs", {now_ms - 50'000, now_ms - 40'000}, now_ms + 240'000, 1, 57, 0});
  store->save_endpoint_state({"crm", {now_ms - 5'000, now_ms - 4'000, now_ms - 3'000}, 0, 0, 1200, 0});

  live.started_at = clock.now() - std::chrono::hours(2);
  live.summary = "3 streams; deals running; 2 dead letters; people/addupdatetimelogs locked 4m";
  status::StreamLive deals;
  deals.stream = "deals";
  deals.running = true;
  deals.records_read = 120;
  deals.records_written = 40;
  deals.records_unchanged = 75;
  deals.records_dead_lettered = 1;
  deals.last_run_started = clock.now() - seconds(20);
  deals.last_run_outcome = "ok";
  deals.last_success = clock.now() - minutes(5);
  deals.next_run = clock.now() + minutes(5);
  deals.caught_up_at = clock.now() - seconds(320);  // lag 320 s, although the watermark is 20 min old
  status::StreamLive calls;
  calls.stream = "calls";
  calls.records_read = 118;
  calls.records_written = 116;
  calls.records_dead_lettered = 2;
  calls.last_run_started = clock.now() - minutes(6);
  calls.last_run_finished = clock.now() - minutes(4);
  calls.last_run_outcome = "2 dead letters";
  calls.last_success = clock.now() - minutes(4);
  calls.next_run = clock.now() + minutes(1);
  live.streams = {deals, calls};
  status::EndpointLive crm;
  crm.endpoint = "crm";
  crm.budget_per_minute = 100;
  crm.calls_last_minute = 3;
  crm.tokens_available = 97;
  crm.daily_used = 1200;
  crm.daily_budget = 25000;
  status::EndpointLive timelogs;
  timelogs.endpoint = "people/addupdatetimelogs";
  timelogs.budget_per_minute = 30;
  timelogs.calls_last_minute = 2;
  timelogs.next_token_in = Millis(240'000);
  timelogs.locked_until = clock.now() + seconds(240);
  timelogs.waiting = 3;
  live.endpoints = {crm, timelogs};
}

StatusFixture::~StatusFixture() {
  store.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

std::string HttpResult::header(const std::string& name) const {
  auto lower = [](std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  };
  for (const auto& [k, v] : headers)
    if (lower(k) == lower(name)) return v;
  return "";
}

HttpResult http_request(unsigned short port, const std::string& method, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed: " + std::string(std::strerror(errno)));
  }
  const std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  for (std::size_t sent = 0; sent < req.size();) {
    const auto n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("send failed");
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[8192];
  for (;;) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error("recv failed");
    }
    if (n == 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);

  HttpResult r;
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 9, "HTTP/1.1 ") != 0)
    throw std::runtime_error("malformed reply: " + raw.substr(0, 200));
  r.status = std::stoi(raw.substr(9, 3));
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    r.headers.emplace_back(line.substr(0, colon), v);
  }
  r.body = raw.substr(head_end + 4);
  const std::string length = r.header("Content-Length");
  if (!length.empty() && std::stoul(length) != r.body.size())
    throw std::runtime_error("body of " + std::to_string(r.body.size()) + " bytes, Content-Length " + length);
  return r;
}

}  // namespace peoplesync::testing
