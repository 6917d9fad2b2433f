// Hostile servers (issue 8, item 3). The real Beast/OpenSSL transport, OAuth
// token provider, ZohoApi and the People and CRM clients, over real TLS,
// against servers that misbehave on purpose:
//  - small purpose-built TLS servers written here on raw Asio, one mode each:
//    never finishes the handshake, accepts and never answers, trickles a
//    byte a second, trickles faster than the per-read deadline for ever,
//    sends a body over the cap (Content-Length or chunked), closes
//    mid-header, closes mid-chunk, answers valid JSON of the wrong shape
//    (also on the OAuth token endpoint);
//  - the sandbox's own fault modes: a 5xx storm, a connection dropped after
//    a bulk time-log write was committed, dropped before, truncated,
//    garbage, trickled replies.
// Every mode runs 1,000 calls, 200 at a time on one io_context, rotating
// reads and writes of both APIs. Each call must end in a clear error that
// names its endpoint, with the outcome that keeps records safe (a read, and
// a write that sets a state - a CRM update - is retried, boundedly; an add
// that may have landed is in doubt and never sent twice), within its
// deadline. Open file descriptors and RSS are
// measured after the first batch and after the last: no descriptor of the
// client may remain, and RSS (after malloc_trim) may grow by at most 8 MiB
// (not asserted under AddressSanitizer, whose quarantine holds freed memory
// and whose LeakSanitizer checks leaks instead, nor for the sandbox's
// trickle, whose server sessions outlive the client's). Each mode prints its
// figures.
//
// Nothing here sleeps on the wall clock: client backoff is skipped (a
// sleeper that returns at once), and the only real waits are the
// transport's own short deadlines, which are what is under test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <simdjson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "common/timefmt.hpp"
#include "connectors/beast_transport.hpp"
#include "connectors/crm.hpp"
#include "connectors/people.hpp"
#include "net/http_server.hpp"
#include "net/tls_cert.hpp"
#include "sandbox/sandbox.hpp"

namespace peoplesync::hostile {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using namespace connectors;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// PEOPLESYNC_HOSTILE_REPS overrides the count (longer runs by hand).
const int kReps = [] {
  const char* v = std::getenv("PEOPLESYNC_HOSTILE_REPS");
  return v && std::atoi(v) > 0 ? std::atoi(v) : 1000;
}();
constexpr int kBatch = 200;   // calls in flight at once
constexpr int kWarmup = 200;  // figures are compared from the end of this batch on
constexpr long kRssGrowthLimitKiB = 8 * 1024;
// Under AddressSanitizer freed memory sits in its quarantine (256 MiB) and
// RSS says nothing about leaks: LeakSanitizer checks those instead.
#if defined(__SANITIZE_ADDRESS__)
#define PEOPLESYNC_HOSTILE_ASAN 1
constexpr bool kRssMeaningful = false;
#else
constexpr bool kRssMeaningful = true;
#endif
constexpr Millis kSlack{2500};  // generous: a loaded 2-core machine, sanitizers
constexpr const char* kAnn = "ann.lee@example.com";

// ------------------------------------------------------------ process figures

// Resident memory, after handing free heap pages back (malloc_trim): the
// question is whether live memory grows, not how the allocator keeps its
// arenas (five threads here: the client's and the servers').
long rss_kib() {
#ifndef PEOPLESYNC_HOSTILE_ASAN
  ::malloc_trim(0);
#endif
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

bool is_listening(int fd) {
  int listening = 0;
  socklen_t len = sizeof listening;
  return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0;
}

struct FdCount {
  int all = 0;     // every open descriptor of the process
  int client = 0;  // without the in-process servers' side of their connections
};

// The server side of a connection is a socket whose local port is a
// server's (a reset connection is no longer in /proc/net/tcp, but its
// descriptor still has its local address).
FdCount count_fds(const std::set<int>& server_ports) {
  FdCount c;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = fs::read_symlink(entry.path(), ec).string();
    if (ec) continue;  // the iterator's own descriptor, closed meanwhile
    ++c.all;
    if (target.rfind("socket:[", 0) == 0) {
      const int fd = std::stoi(entry.path().filename().string());
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.ss_family == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, &addr, sizeof in);
        // Client sockets have ephemeral local ports; listening sockets stay in the count.
        if (server_ports.count(ntohs(in.sin_port)) && !is_listening(fd)) continue;
      }
    }
    ++c.client;
  }
  return c;
}

// ------------------------------------------------------------ per-call checks

// What the calls of one mode did, checked call by call; the first few
// failures are kept for the report.
struct Tally {
  int calls = 0;
  int bad = 0;
  std::vector<std::string> failures;
  std::string sample;  // one error message, for the printed figures
  Millis slowest{0};

  void check(bool ok, int rep, const std::string& what) {
    if (ok) return;
    ++bad;
    if (failures.size() < 5) failures.push_back("rep " + std::to_string(rep) + ": " + what);
  }
  std::string report() const {
    std::string s;
    for (const auto& f : failures) s += "\n  " + f;
    return s;
  }
};

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

struct Figures {
  FdCount fds_warm, fds_end;
  long rss_warm = 0, rss_end = 0;
  double seconds = 0;
};

void print_figures(const std::string& mode, const Figures& f, const Tally& t) {
  std::printf(
      "[hostile] %-24s reps=%d fds(all/client) after-warmup=%d/%d end=%d/%d  rss_kib after-warmup=%ld end=%ld "
      "(%+ld)  elapsed=%.2fs slowest-call=%lldms\n[hostile] %-24s sample error: %s\n",
      mode.c_str(), t.calls, f.fds_warm.all, f.fds_warm.client, f.fds_end.all, f.fds_end.client, f.rss_warm,
      f.rss_end, f.rss_end - f.rss_warm, f.seconds, static_cast<long long>(t.slowest.count()), mode.c_str(),
      t.sample.c_str());
  std::fflush(stdout);
}

// `servers_settled`: the in-process servers have ended every session the
// client gave up, so the process's RSS is the client's growth plus nothing
// that is still winding down.
void expect_flat(const Figures& f, bool servers_settled = true) {
  // One descriptor either way is timing (under -j2 load a socket the
  // in-process server is still closing was once counted at one end, 15 vs
  // 16); a leak grows with the 800 repetitions between the two counts.
  EXPECT_LE(std::abs(f.fds_end.client - f.fds_warm.client), 1)
      << "descriptors leaked across the repetitions: " << f.fds_warm.client << " -> " << f.fds_end.client;
  if (kRssMeaningful && servers_settled) {
    EXPECT_LE(f.rss_end - f.rss_warm, kRssGrowthLimitKiB) << "RSS grew across the repetitions";
  }
}

// Runs rep(i) for i in [0, kReps), kBatch at a time, all on `io`; `settle`
// runs after each batch (it waits for the servers to see every connection
// the client gave up closed).
Figures repeat(asio::io_context& io, const std::function<asio::awaitable<void>(int)>& rep,
               const std::set<int>& server_ports, const std::function<void()>& settle) {
  Figures f;
  int crashed = 0;
  std::string what;
  const auto start = steady::now();
  for (int first = 0; first < kReps; first += kBatch) {
    for (int i = first; i < std::min(kReps, first + kBatch); ++i) {
      asio::co_spawn(io, rep(i), [&](std::exception_ptr e) {
        if (!e) return;
        ++crashed;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          what = x.what();
        } catch (...) {
          what = "unknown exception";
        }
      });
    }
    io.run();
    io.restart();
    if (settle) settle();
    if (first + kBatch == kWarmup) {
      f.fds_warm = count_fds(server_ports);
      f.rss_warm = rss_kib();
    }
  }
  f.fds_end = count_fds(server_ports);
  f.rss_end = rss_kib();
  f.seconds = std::chrono::duration<double>(steady::now() - start).count();
  EXPECT_EQ(crashed, 0) << "a call threw: " << what;
  return f;
}

// ------------------------------------------------------------ the hostile server

enum class Mode {
  tokens,            // a well-behaved accounts server (token grants only)
  never_handshake,   // accepts TCP, never speaks TLS
  never_answer,      // reads the request, never answers
  trickle,           // answers one byte every `gap`
  over_cap,          // a 64 KiB body announced by Content-Length
  over_cap_chunked,  // a 64 KiB body in 1000-byte chunks
  close_mid_header,  // closes halfway through the header
  close_mid_chunk,   // closes inside the first chunk of a chunked body
  wrong_shape,       // valid JSON of the wrong shape (see kShapes)
};

// The wrong-shape replies; the client marks each call with "shapeNN" (in a
// query value, a form body or a CRM module name) so that the server knows
// which one to send.
enum class Call {
  people_jobs,
  people_projects,
  people_timelogs,
  people_refs,
  people_add_job,
  people_update_job,  // forms updateRecord (wrong shapes only)
  people_timelog_write,
  crm_page,
  crm_deleted,
  crm_update,
};

struct Shape {
  Call call;
  const char* body;
  // Of the error; ok: the call succeeds - a People list read with an empty
  // page, a time-log write with every item in doubt.
  Outcome outcome;
  const char* endpoint;  // named in the error ("NN" replaced by the shape's number)
  const char* says;      // also in the error
};

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> kShapes{
      {Call::people_jobs, R"([])", Outcome::retry, "people/getjobs", "no \"response\" envelope"},
      // Status 0 without "result" is how People says "no records" (C2, README
      // "Zoho as the evidence shows it"): an empty page since issue 13, no
      // longer an error.
      {Call::people_jobs, R"({"response":{"message":"Data fetched successfully","uri":"/api/timetracker/getjobs","status":0}})",
       Outcome::ok, "", ""},
      {Call::people_projects, R"({"response":{"result":{"projectId":"P1"},"status":0}})", Outcome::retry,
       "people/getprojects", "result is not a list"},
      {Call::people_timelogs, R"({"response":{"result":[{"timelogId":{"id":1}}],"status":0}})", Outcome::retry,
       "people/gettimelogs", "without timelogId"},
      {Call::people_jobs, R"({"response":{"result":[7],"status":0}})", Outcome::retry, "people/getjobs",
       "not an object"},
      {Call::people_jobs, R"({"response":{"result":[],"status":"0k"}})", Outcome::retry, "people/getjobs",
       "envelope status"},
      {Call::people_projects, R"({"response":5})", Outcome::retry, "people/getprojects", "no \"response\" envelope"},
      {Call::people_refs, R"({"response":{"result":["x"],"status":0}})", Outcome::retry,
       "people/getRecordIdsByReferenceIds", "result is not a map"},
      {Call::crm_page, R"({"data":{"id":"1"}})", Outcome::retry, "crm ShapeNN", "no \"data\" list"},
      {Call::crm_page, R"({"data":[{"id":"D1","Modified_Time":1714557600}]})", Outcome::retry, "crm ShapeNN",
       "without id or Modified_Time"},
      {Call::crm_page, R"([{"data":[]}])", Outcome::retry, "crm ShapeNN", "no \"data\" list"},
      {Call::crm_update, R"({"data":{"code":"SUCCESS"}})", Outcome::in_doubt, "crm ShapeNN update",
       "unexpected reply"},
      {Call::people_timelog_write, R"({"response":{"result":[],"status":0}})", Outcome::ok, "", ""},
      {Call::people_timelog_write, R"({"response":{"result":{"addedTimelogIds":"T1"},"status":0}})", Outcome::ok,
       "", ""},
      {Call::people_timelog_write, R"({"response":{"status":0}})", Outcome::ok, "", ""},
      {Call::people_add_job, R"({"response":{"result":[{"jobId":null}],"status":0}})", Outcome::in_doubt,
       "people/addjob", "no jobId"},
      {Call::people_add_job, R"({"response":{"result":"J1","status":0}})", Outcome::in_doubt, "people/addjob",
       "no jobId"},
      {Call::people_timelogs, R"({"response":{"message":"Data fetched successfully","status":0}})", Outcome::ok, "",
       ""},
      {Call::people_projects, R"({"response":{"result":[{"projectId":["P1"],"projectName":"x"}],"status":0}})",
       Outcome::retry, "people/getprojects", "without projectId"},
      {Call::crm_deleted, R"({"data":{"id":"1"}})", Outcome::retry, "crm ShapeNN/deleted", "unexpected reply"},
      // The forms API's "No records found" (7024) is an empty page too.
      {Call::people_timelogs, R"({"response":{"message":"Error occurred","errors":{"code":7024,"message":"No records found"},"status":1}})",
       Outcome::ok, "", ""},
      // Another status-1 code on a list read stays an error naming the endpoint.
      {Call::people_jobs, R"({"response":{"message":"Error occurred","errors":{"code":7025,"message":"No such view"},"status":1}})",
       Outcome::permanent, "people/getjobs", "7025"},
      // A list whose "result" is there but empty is an empty page as before;
      // "result" of another type is still an error (shape 2).
      {Call::people_jobs, R"({"response":{"result":[],"status":0}})", Outcome::ok, "", ""},
      // ...but only on a read: a write answered 7024 was refused, never a
      // silent success (nor an add in doubt).
      {Call::people_update_job, R"({"response":{"message":"Error occurred","errors":{"code":7024,"message":"No records found"},"status":1}})",
       Outcome::permanent, "people/updateRecord", "7024"},
      {Call::people_add_job, R"({"response":{"message":"Error occurred","errors":{"code":7024,"message":"No records found"},"status":1}})",
       Outcome::permanent, "people/addjob", "7024"},
  };
  return kShapes;
}

std::string two_digits(int n) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", n % 100);
  return buf;
}

// Token replies of the wrong shape, in turn.
const std::vector<std::string>& token_shapes() {
  static const std::vector<std::string> kBodies{
      R"([])",
      R"({"access_token":7,"expires_in":3600})",
      R"({"access_token":"tok","expires_in":"an hour"})",
      R"({"error":5})",
      R"({"access_token":"","expires_in":3600})",
      R"({"token":{"access_token":"tok","expires_in":3600}})",
  };
  return kBodies;
}

std::string http_reply(const std::string& body, int status = 200) {
  return "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Error") +
         "\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class HostileServer {
 public:
  HostileServer(Mode mode, const net::TlsFiles& tls, Millis gap = Millis{1000})
      : mode_(mode), gap_(gap), io_(std::make_unique<asio::io_context>()), ctx_(ssl::context::tls_server) {
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
    ctx_.use_certificate_chain_file(tls.server_cert);
    ctx_.use_private_key_file(tls.server_key, ssl::context::pem);
    // No server-side session cache: its growth would be the server's, and
    // every call here is a fresh handshake anyway.
    SSL_CTX_set_session_cache_mode(ctx_.native_handle(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx_.native_handle(), 0);
    acceptor_.emplace(*io_);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_->open(ep.protocol());
    acceptor_->bind(ep);
    acceptor_->listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_->local_endpoint().port();
    asio::co_spawn(*io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_->run(); });
  }
  ~HostileServer() {
    io_->stop();
    thread_.join();
    acceptor_.reset();
    io_.reset();  // destroys the sessions still waiting
  }
  HostileServer(const HostileServer&) = delete;
  HostileServer& operator=(const HostileServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port_); }

  // Requests read, by "METHOD path".
  std::map<std::string, int> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int total_requests() const {
    int n = 0;
    for (const auto& [k, v] : requests()) n += v;
    return n;
  }

  // Waits (on an event, not a clock) until at most `n` connections are open
  // on the server side; false if that does not happen within `guard`. A
  // client that gave up on a connection must have closed it.
  bool wait_open_at_most(int n, std::chrono::seconds guard = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, guard, [&] { return open_ <= n; });
  }
  int open() const {
    std::lock_guard lock(mutex_);
    return open_;
  }

 private:
  struct Conn {
    Conn(tcp::socket s, ssl::context& ctx, HostileServer& server)
        : stream(std::move(s), ctx), timer(stream.get_executor()), owner(server) {
      owner.opened();
    }
    ~Conn() { owner.closed(); }
    ssl::stream<tcp::socket> stream;
    asio::steady_timer timer;
    HostileServer& owner;
    bool peer_gone = false;
  };
  struct RawRequest {
    std::string method, target, body;
  };

  void opened() {
    std::lock_guard lock(mutex_);
    ++open_;
  }
  void closed() {
    {
      std::lock_guard lock(mutex_);
      --open_;
    }
    changed_.notify_all();
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_->async_accept(kTuple);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      auto conn = std::make_shared<Conn>(std::move(socket), ctx_, *this);
      asio::co_spawn(*io_, serve(conn), asio::detached);
    }
  }

  static asio::awaitable<std::optional<RawRequest>> read_request(Conn& c, std::string& buffer) {
    auto [ec, n] = co_await asio::async_read_until(c.stream, asio::dynamic_buffer(buffer), "\r\n\r\n", kTuple);
    if (ec) co_return std::nullopt;
    RawRequest r;
    const std::string head = buffer.substr(0, n);
    buffer.erase(0, n);
    std::istringstream line(head);
    line >> r.method >> r.target;
    std::size_t length = 0;
    const std::string h = lower(head);
    if (const auto p = h.find("\r\ncontent-length:"); p != std::string::npos) length = std::stoul(h.substr(p + 17));
    if (buffer.size() < length) {
      auto [bec, m] = co_await asio::async_read(c.stream, asio::dynamic_buffer(buffer),
                                                asio::transfer_exactly(length - buffer.size()), kTuple);
      (void)m;
      if (bec) co_return std::nullopt;
    }
    r.body = buffer.substr(0, length);
    buffer.erase(0, length);
    co_return r;
  }

  // Reads until the peer goes away, then stops whatever else the
  // connection was doing.
  static asio::awaitable<void> watch(std::shared_ptr<Conn> c) {
    char byte = 0;
    for (;;) {
      auto [ec, n] = co_await c->stream.async_read_some(asio::buffer(&byte, 1), kTuple);
      (void)n;
      if (ec) break;
    }
    c->peer_gone = true;
    c->timer.cancel();
    boost::system::error_code ignored;
    c->stream.next_layer().close(ignored);
  }

  static asio::awaitable<void> watch_raw(std::shared_ptr<Conn> c) {
    char byte = 0;
    for (;;) {
      auto [ec, n] = co_await c->stream.next_layer().async_read_some(asio::buffer(&byte, 1), kTuple);
      (void)n;
      if (ec) co_return;
    }
  }

  static asio::awaitable<bool> send(Conn& c, const std::string& bytes) {
    auto [ec, n] = co_await asio::async_write(c.stream, asio::buffer(bytes), kTuple);
    (void)n;
    co_return !ec;
  }

  std::string wrong_shape_body(const RawRequest& r) {
    if (r.target.rfind("/oauth/v2/token", 0) == 0) {
      const auto& bodies = token_shapes();
      return bodies[token_turn_++ % bodies.size()];
    }
    // "shapeNN" anywhere in the request, or getprojects' sIndex=90NN.
    const std::string all = lower(r.target + " " + r.body);
    auto at = all.find("shape");
    if (at != std::string::npos) at += 5;
    else if ((at = all.find("sindex=90")) != std::string::npos) at += 9;
    if (at == std::string::npos || at + 2 > all.size()) return "{}";
    const auto& table = shapes();
    const std::size_t n = static_cast<std::size_t>(std::stoi(all.substr(at, 2)));
    return n < table.size() ? table[n].body : "{}";
  }

  asio::awaitable<void> serve(std::shared_ptr<Conn> c) {
    if (mode_ == Mode::never_handshake) {
      co_await watch_raw(c);
      co_return;
    }
    auto [hec] = co_await c->stream.async_handshake(ssl::stream_base::server, kTuple);
    if (hec) co_return;
    std::string buffer;
    for (;;) {
      std::optional<RawRequest> req = co_await read_request(*c, buffer);
      if (!req) co_return;
      {
        std::lock_guard lock(mutex_);
        ++requests_[req->method + " " + req->target.substr(0, req->target.find('?'))];
      }
      switch (mode_) {
        case Mode::tokens:
          if (req->target.rfind("/oauth/v2/token", 0) == 0) {
            if (!co_await send(*c, http_reply(R"({"access_token":"hostile-access-token","expires_in":3600,"api_domain":"https://www.zohoapis.com","token_type":"Bearer"})")))
              co_return;
          } else if (!co_await send(*c, http_reply(R"({"code":"INVALID_URL_PATTERN"})", 404))) {
            co_return;
          }
          continue;
        case Mode::wrong_shape:
          if (!co_await send(*c, http_reply(wrong_shape_body(*req)))) co_return;
          continue;
        case Mode::never_answer:
          co_await watch(c);
          co_return;
        case Mode::trickle: {
          // A full, valid reply, padded so that it never ends in time.
          const std::string bytes =
              http_reply(R"({"response":{"result":[],"status":0,"message":")" + std::string(4000, 'x') + "\"}}");
          asio::co_spawn(c->stream.get_executor(), watch(c), asio::detached);
          for (char ch : bytes) {
            if (c->peer_gone) co_return;
            auto [wec, w] = co_await asio::async_write(c->stream, asio::buffer(&ch, 1), kTuple);
            (void)w;
            if (wec || c->peer_gone) co_return;
            c->timer.expires_after(gap_);
            co_await c->timer.async_wait(kTuple);
          }
          co_return;
        }
        case Mode::over_cap: {
          const std::string body(64 * 1024, 'x');
          if (co_await send(*c, http_reply(body))) co_await watch(c);
          co_return;
        }
        case Mode::over_cap_chunked: {
          std::string bytes = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
          for (int i = 0; i < 64; ++i) bytes += "3e8\r\n" + std::string(1000, 'x') + "\r\n";
          bytes += "0\r\n\r\n";
          if (co_await send(*c, bytes)) co_await watch(c);
          co_return;
        }
        case Mode::close_mid_header:
          co_await send(*c, "HTTP/1.1 200 OK\r\nContent-Type: applic");
          co_return;  // the last owner: the socket closes here
        case Mode::close_mid_chunk:
          co_await send(*c,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "40\r\n{\"response\":{\"result\":[{\"jobId\":\"J1\",");
          co_return;
        case Mode::never_handshake:
          co_return;
      }
    }
  }

  const Mode mode_;
  const Millis gap_;
  std::unique_ptr<asio::io_context> io_;
  ssl::context ctx_;
  std::optional<tcp::acceptor> acceptor_;
  int port_ = 0;
  std::thread thread_;
  std::size_t token_turn_ = 0;  // server thread only

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int open_ = 0;
  std::map<std::string, int> requests_;
};

// ------------------------------------------------------------ the sandbox, in-process

constexpr const char* kOrg = R"({"users":["ann.lee@example.com"],
  "projects":[{"id":"P1","name":"Alpha"}],
  "jobs":[{"id":"J1","name":"Build","project_id":"P1","assignees":["ann.lee@example.com"]}],
  "crm":{"Deals":[{"id":"D1","Deal_Name":"One","Modified_Time":"2024-01-01T00:00:00+00:00"},
                  {"id":"D2","Deal_Name":"Two","Modified_Time":"2024-01-02T00:00:00+00:00"}]}})";

class SandboxServer {
 public:
  explicit SandboxServer(const net::TlsFiles& tls) : clock_(1.0) {
    sandbox::Behaviour b;
    b.people_limits = false;  // thresholds are not under test: 1,000 writes a minute
    b.crm_daily_credits = 1'000'000;
    sb_ = std::make_unique<sandbox::Sandbox>(clock_, b, 11);
    if (auto err = sb_->seed_json(kOrg)) throw std::runtime_error("seed: " + *err);
    net::ServerOptions so;
    so.host = "127.0.0.1";
    so.tls = tls;
    server_ = std::make_unique<net::HttpServer>(io_, so, [this](const net::HttpRequest& r) { return sb_->handle(r); });
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~SandboxServer() {
    io_.stop();
    thread_.join();
  }

  int port() const { return server_->port(); }
  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port()); }
  const sandbox::Behaviour& behaviour() const { return sb_->behaviour(); }
  const Clock& clock() const { return clock_; }

  // Calls handle() on the server's thread, as the admin API would be.
  net::HttpReply admin(const std::string& method, const std::string& target) {
    net::HttpRequest r;
    r.method = method;
    r.target = target;
    const auto qm = target.find('?');
    r.path = target.substr(0, qm);
    if (qm != std::string::npos) r.query = net::parse_params(target.substr(qm + 1));
    r.remote_address = "127.0.0.1";
    std::promise<net::HttpReply> done;
    asio::post(io_, [&] { done.set_value(sb_->handle(r)); });
    return done.get_future().get();
  }
  void set_faults(const std::string& spec) {
    std::string error;
    auto f = sandbox::parse_faults(spec, &error);
    ASSERT_TRUE(f) << error;
    std::promise<void> done;
    asio::post(io_, [&] {
      sb_->set_faults(*f);
      done.set_value();
    });
    done.get_future().get();
  }
  // Calls the sandbox counted for one endpoint ("people/getjobs", "crm/Deals").
  std::int64_t calls(const std::string& endpoint) {
    const net::HttpReply reply = admin("GET", "/_admin/stats");
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (p.parse(reply.body).get(doc) != simdjson::SUCCESS) return -1;
    std::int64_t n = 0;
    if (doc["endpoints"][endpoint]["calls"].get_int64().get(n) != simdjson::SUCCESS) return 0;
    return n;
  }
  int timelogs_held() {
    const std::string all = admin("GET", "/_admin/people/timelogs").body;
    int n = 0;
    for (std::size_t pos = 0; (pos = all.find("\"id\":", pos)) != std::string::npos; ++pos) ++n;
    return n;
  }

 private:
  asio::io_context io_;
  sandbox::ScaledClock clock_;
  std::unique_ptr<sandbox::Sandbox> sb_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
};

// ------------------------------------------------------------ the client

class Half final : public Random {
 public:
  double uniform() override { return 0.5; }
};

// Backoff in no time: the attempts are what is counted, not the waits.
class NoWait final : public Sleeper {
 public:
  asio::awaitable<void> sleep_for(Millis) override {
    ++waits;
    co_return;
  }
  int waits = 0;
};

// Counts the requests the client put on the wire, per endpoint.
class Counting final : public Transport {
 public:
  explicit Counting(Transport& inner) : inner_(inner) {}
  asio::awaitable<Result> send(Request request) override {
    const std::string endpoint = request.endpoint;
    // Also by method: "PUT crm" tells CRM updates from CRM reads (both "crm").
    const std::string by_method = std::string(to_string(request.method)) + " " + endpoint;
    ++sent_[endpoint];
    ++sent_[by_method];
    Result r = co_await inner_.send(std::move(request));
    if (const auto* f = std::get_if<Failure>(&r); f && never_sent(f->kind)) {
      ++unsent_[endpoint];
      ++unsent_[by_method];
    }
    co_return r;
  }
  // Attempts put on the wire, and those of them that provably never reached
  // the server (connect or TLS failed); by endpoint ("crm") or by method and
  // endpoint ("PUT crm").
  int sent(const std::string& endpoint) const { return get(sent_, endpoint); }
  int unsent(const std::string& endpoint) const { return get(unsent_, endpoint); }

 private:
  static int get(const std::map<std::string, int>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? 0 : it->second;
  }
  Transport& inner_;
  std::map<std::string, int> sent_, unsent_;
};

struct Client {
  Client(asio::io_context& io, const std::string& ca_file, const std::string& accounts_url, const std::string& api_url,
         TransportOptions t, BackoffPolicy backoff, const sandbox::Behaviour& credentials = {}) {
    t.ca_file = ca_file;
    t.use_system_store = false;
    options = t;
    wire = make_beast_transport(io.get_executor(), t);
    counting = std::make_unique<Counting>(*wire);
    zoho.accounts_url = accounts_url;
    zoho.crm_url = zoho.people_url = api_url;
    zoho.client_id = credentials.client_id;
    zoho.client_secret = {credentials.client_secret, "test client_secret"};
    zoho.refresh_token = {credentials.refresh_tokens.front(), "test refresh_token"};
    tokens = std::make_unique<TokenProvider>(*counting, zoho, clock, sleeper, random);
    api = std::make_unique<ZohoApi>(*counting, *tokens, clock, sleeper, random, backoff);
    people = std::make_unique<PeopleClient>(*api, zoho.people_url);
    crm = std::make_unique<CrmClient>(*api, zoho.crm_url);
  }

  TransportOptions options;
  ManualClock clock;
  NoWait sleeper;
  Half random;
  config::Zoho zoho;
  std::unique_ptr<Transport> wire;
  std::unique_ptr<Counting> counting;
  std::unique_ptr<TokenProvider> tokens;
  std::unique_ptr<ZohoApi> api;
  std::unique_ptr<PeopleClient> people;
  std::unique_ptr<CrmClient> crm;
};

// What one call came back with.
struct Observed {
  bool error = false;
  CallError err;
  std::vector<TimelogItemResult> items;  // a time-log write that succeeded
  int listed = -1;                       // a People list read that succeeded: its items
  Millis elapsed{0};
};

template <class T>
void take(Observed& o, const Expected<T>& r) {
  if (const auto* e = std::get_if<CallError>(&r)) {
    o.error = true;
    o.err = *e;
  }
}

// Adds: sent twice they would add twice, so once one may have reached the
// server it is in doubt and never sent again (it is read back instead).
bool is_add(Call c) { return c == Call::people_add_job || c == Call::people_timelog_write; }
// A CRM update sets fields to values: sent twice it changes nothing more, so
// the client resends it on a 5xx or a lost connection like a read (README
// "How a pass works"; before issue 13 it was in doubt and sent once).

std::string endpoint_of(Call c) {
  switch (c) {
    case Call::people_jobs: return "people/getjobs";
    case Call::people_projects: return "people/getprojects";
    case Call::people_timelogs: return "people/gettimelogs";
    case Call::people_refs: return "people/getRecordIdsByReferenceIds";
    case Call::people_add_job: return "people/addjob";
    case Call::people_update_job: return "people/updateRecord";
    case Call::people_timelog_write: return "people/addupdatetimelogs";
    case Call::crm_page: return "crm";
    case Call::crm_deleted: return "crm";
    case Call::crm_update: return "crm";
  }
  return "";
}

// One call. `marker` is "shapeNN" for the wrong-shape server and empty
// elsewhere (then the sandbox's seed: job J1, module Deals). A time-log
// write sends `items` logs of one hour each.
asio::awaitable<Observed> perform(Client& cl, Call call, std::string marker, std::string date, int items = 1) {
  Observed o;
  const auto start = steady::now();
  const std::string module = marker.empty() ? std::string("Deals") : "S" + marker.substr(1);
  switch (call) {
    case Call::people_jobs: {
      JobQuery q;
      q.project_id = marker;
      auto r = co_await cl.people->get_jobs(q);
      take(o, r);
      if (const auto* ok = std::get_if<Page<PeopleJob>>(&r)) o.listed = static_cast<int>(ok->items.size());
      break;
    }
    case Call::people_projects: {
      // getprojects takes numbers only: the marker travels as sIndex 90NN.
      const int s_index = marker.empty() ? 0 : 9000 + std::stoi(marker.substr(5));
      auto r = co_await cl.people->get_projects(s_index);
      take(o, r);
      break;
    }
    case Call::people_timelogs: {
      TimelogQuery q;
      q.job_id = marker.empty() ? std::string("J1") : marker;
      q.from_date = date;
      q.to_date = date;
      auto r = co_await cl.people->get_timelogs(q);
      take(o, r);
      if (const auto* ok = std::get_if<Page<PeopleTimelog>>(&r)) o.listed = static_cast<int>(ok->items.size());
      break;
    }
    case Call::people_refs: {
      const std::string service = "Zoho CRM";
      const std::string entity = "job";
      const std::vector<std::string> ids{marker.empty() ? std::string("D1") : marker};
      auto r = co_await cl.people->record_ids_by_reference(service, entity, ids);
      take(o, r);
      break;
    }
    case Call::people_add_job: {
      JobInput job;
      job.name = marker.empty() ? std::string("Hostile job") : marker;
      job.assignees = {{kAnn, "01:00", ""}};
      auto r = co_await cl.people->add_job(job);
      take(o, r);
      break;
    }
    case Call::people_update_job: {
      JobInput job;
      job.name = "Hostile job";
      // Named, not a temporary: g++ 12 and temporaries in a co_await.
      const std::string record = marker.empty() ? std::string("J1") : marker;
      auto r = co_await cl.people->update_job_record(record, job);
      take(o, r);
      break;
    }
    case Call::people_timelog_write: {
      std::vector<TimelogInput> logs;
      for (int i = 0; i < items; ++i)
        logs.push_back({kAnn, marker.empty() ? std::string("J1") : marker, "", date, "", "01:00", "", "", "", ""});
      auto r = co_await cl.people->add_update_timelogs(logs);
      take(o, r);
      if (const auto* ok = std::get_if<BulkTimelogResult>(&r)) o.items = ok->items;
      break;
    }
    case Call::crm_page: {
      CrmQuery q;
      q.module = module;
      q.fields = {"Deal_Name"};
      auto r = co_await cl.crm->get_page(q);
      take(o, r);
      break;
    }
    case Call::crm_deleted: {
      const std::optional<std::string> since;
      auto r = co_await cl.crm->get_deleted(module, since, 1);
      take(o, r);
      break;
    }
    case Call::crm_update: {
      const std::vector<CrmUpdate> records{{"D1", {{"Stage", Value::string("Won")}}}};
      auto r = co_await cl.crm->update(module, records);
      take(o, r);
      break;
    }
  }
  o.elapsed = std::chrono::duration_cast<Millis>(steady::now() - start);
  co_return o;
}

// The name an error must carry for a call: the People endpoint, or "crm"
// and the module ("crm Deals", "crm Deals update", "crm Deals/deleted").
std::string named(Call call, const std::string& module) {
  switch (call) {
    case Call::crm_page: return "crm " + module;
    case Call::crm_deleted: return "crm " + module + "/deleted";
    case Call::crm_update: return "crm " + module + " update";
    default: return endpoint_of(call);
  }
}

// The reads and writes each transport-level mode rotates through.
constexpr Call kRotation[] = {Call::people_jobs, Call::people_timelog_write, Call::crm_page, Call::crm_update,
                              Call::people_projects, Call::people_add_job};

// Against the sandbox, without the job add: the sandbox keeps what it is
// sent, and a growing job list would grow every getjobs reply (and the RSS
// of the process that holds the sandbox) with it.
constexpr Call kSandboxRotation[] = {Call::people_jobs, Call::people_timelog_write, Call::crm_page,
                                     Call::crm_update, Call::people_projects};

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init(log::Format::text, log::Level::off);  // 1,000 retries a mode would flood the output
    dir_ = fs::path(::testing::TempDir()) / ("peoplesync-hostile-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    tls_ = net::ensure_tls_files((dir_ / "tls").string());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string yesterday(const Clock& clock) const {
    return format_utc_iso_seconds(clock.now() - std::chrono::hours(24)).substr(0, 10);
  }

  fs::path dir_;
  net::TlsFiles tls_;
  asio::io_context io_;
};

// ------------------------------------------------------------ transport-level modes

struct TransportCase {
  const char* name;
  Mode mode;
  Millis gap;              // trickle: between bytes
  Millis io_timeout;       // per read or write
  Millis request_timeout;  // the whole request
  Millis connect_timeout;  // connect, and the TLS handshake
  std::size_t body_limit;
  const char* says;        // in every error
  Millis fires_after;      // per attempt, the deadline under test (0: none)
  bool never_sent;         // the server never sees a request
  friend void PrintTo(const TransportCase& c, std::ostream* os) { *os << c.name; }
};

class HostileTransport : public Hostile, public ::testing::WithParamInterface<TransportCase> {};

constexpr Millis kLoose{20'000};

// Every call ends in a clear error naming its endpoint, within its deadline;
// reads are retried a bounded number of times, writes that may have landed
// are in doubt and sent once; the server saw exactly the attempts the client
// made; every connection the client gave up is closed; descriptors and RSS
// stay flat.
TEST_P(HostileTransport, ClearErrorWithinBoundsAndNothingLeaks) {
  const TransportCase& tc = GetParam();
  constexpr int kAttempts = 2;
  HostileServer accounts(Mode::tokens, tls_);
  HostileServer server(tc.mode, tls_, tc.gap);
  TransportOptions t;
  t.io_timeout = tc.io_timeout;
  t.request_timeout = tc.request_timeout;
  t.connect_timeout = tc.connect_timeout;
  t.body_limit = tc.body_limit;
  Client cl(io_, tls_.ca_cert, accounts.base_url(), server.base_url(), t,
            BackoffPolicy{Millis{100}, Millis{1000}, kAttempts});

  Tally tally;
  std::map<Call, int> calls_of;
  auto one = [&](int rep) -> asio::awaitable<void> {
    const Call call = kRotation[rep % std::size(kRotation)];
    ++calls_of[call];
    Observed o = co_await perform(cl, call, "", "2024-05-01");
    ++tally.calls;
    tally.slowest = std::max(tally.slowest, o.elapsed);
    const int attempts = is_add(call) && !tc.never_sent ? 1 : kAttempts;
    tally.check(o.error, rep, "no error");
    if (!o.error) co_return;
    if (tally.sample.empty()) tally.sample = o.err.message;
    const std::string name = named(call, "Deals");
    tally.check(contains(o.err.message, name), rep, "'" + o.err.message + "' does not name " + name);
    tally.check(contains(o.err.message, tc.says), rep, "'" + o.err.message + "' does not say " + tc.says);
    // An add is in doubt once it may have reached the server; one whose
    // handshake never finished (tc.never_sent, or a loaded machine's slow
    // handshake inside the deadline) provably did not, and may be retried.
    // A CRM update is resent like a read and ends as a read does: retry.
    const bool unsent = tc.never_sent || contains(o.err.message, "TLS with");
    const Outcome want = is_add(call) && !unsent ? Outcome::in_doubt : Outcome::retry;
    tally.check(o.err.outcome == want, rep,
                "outcome " + std::string(to_string(o.err.outcome)) + " for '" + o.err.message + "'");
    const Millis bound = attempts * std::max(tc.request_timeout, tc.connect_timeout) + kSlack;
    tally.check(o.elapsed <= bound, rep,
                "took " + std::to_string(o.elapsed.count()) + " ms, bound " + std::to_string(bound.count()));
    if (tc.fires_after.count() > 0)
      tally.check(o.elapsed >= attempts * tc.fires_after - Millis{5}, rep,
                  "gave up after " + std::to_string(o.elapsed.count()) + " ms, before its deadline");
  };
  const Figures f = repeat(
      io_, [&](int rep) { return one(rep); }, {accounts.port(), server.port()},
      [&] {
        if (!server.wait_open_at_most(0))
          ADD_FAILURE() << server.open() << " connection(s) still open: the client did not close them";
      });
  print_figures(tc.name, f, tally);
  EXPECT_EQ(tally.calls, kReps);
  EXPECT_EQ(tally.bad, 0) << tally.report();
  expect_flat(f);

  // The wire, from both ends: the client's attempts, and what the server read.
  EXPECT_EQ(cl.counting->sent("accounts/token"), 1);
  const auto seen = server.requests();
  auto seen_of = [&](const std::string& key) {
    auto it = seen.find(key);
    return it == seen.end() ? 0 : it->second;
  };
  // Reads: every attempt made. Writes: sent again only when the previous
  // attempt provably never arrived. The server read exactly the attempts
  // that got past the handshake (no silent resend), and no write twice.
  EXPECT_EQ(cl.counting->sent("people/getjobs"), calls_of[Call::people_jobs] * kAttempts);
  EXPECT_EQ(cl.counting->sent("people/getprojects"), calls_of[Call::people_projects] * kAttempts);
  const struct {
    const char* endpoint;
    const char* wire;
    int calls;
    bool write;
  } kinds[] = {
      {"people/getjobs", "GET /people/api/timetracker/getjobs", calls_of[Call::people_jobs], false},
      {"people/getprojects", "GET /people/api/timetracker/getprojects", calls_of[Call::people_projects], false},
      {"people/addupdatetimelogs", "POST /people/api/timetracker/addupdatetimelogs",
       calls_of[Call::people_timelog_write], true},
      {"people/addjob", "POST /people/api/timetracker/addjob", calls_of[Call::people_add_job], true},
  };
  for (const auto& k : kinds) {
    const int sent = cl.counting->sent(k.endpoint), unsent = cl.counting->unsent(k.endpoint);
    EXPECT_EQ(seen_of(k.wire), sent - unsent) << k.endpoint << ": the server read other than the client sent";
    if (k.write) {
      EXPECT_EQ(sent - unsent, tc.never_sent ? 0 : k.calls) << k.endpoint << ": a write arrived twice or never";
      EXPECT_LE(sent, k.calls * kAttempts) << k.endpoint;
    }
    if (tc.never_sent) {
      EXPECT_EQ(unsent, sent) << k.endpoint;
    }
  }
  // A CRM update is resent like a read (issue 13: it sets values, so a
  // second arrival changes nothing; before, it was sent once and in doubt):
  // every attempt made, and the server read exactly those that got past the
  // handshake.
  EXPECT_EQ(cl.counting->sent("PUT crm"), calls_of[Call::crm_update] * kAttempts);
  EXPECT_EQ(seen_of("PUT /crm/v2/Deals"), cl.counting->sent("PUT crm") - cl.counting->unsent("PUT crm"))
      << "the server read other CRM updates than the client sent";
  if (tc.never_sent) {
    EXPECT_EQ(seen_of("PUT /crm/v2/Deals"), 0);
  }
  EXPECT_EQ(seen_of("GET /crm/v2/Deals") + seen_of("PUT /crm/v2/Deals"),
            cl.counting->sent("crm") - cl.counting->unsent("crm"));
  if (tc.never_sent) {
    EXPECT_EQ(server.total_requests(), 0);
  }
}

constexpr std::size_t kDefaultCap = 32 * 1024 * 1024;

INSTANTIATE_TEST_SUITE_P(
    Modes, HostileTransport,
    ::testing::Values(
        // TCP accepted, TLS never answered: the handshake deadline. Nothing
        // was sent, so even the writes are tried again.
        TransportCase{"NeverHandshakes", Mode::never_handshake, Millis{0}, Millis{5000}, Millis{5000}, Millis{100},
                      kDefaultCap, "timed out", Millis{100}, true},
        // The request is read and never answered: the read deadline.
        TransportCase{"NeverAnswers", Mode::never_answer, Millis{0}, Millis{100}, Millis{5000}, Millis{5000},
                      kDefaultCap, "timed out", Millis{100}, false},
        // A byte a second: the read deadline.
        TransportCase{"TrickleByteASecond", Mode::trickle, Millis{1000}, Millis{100}, Millis{5000}, Millis{5000},
                      kDefaultCap, "timed out", Millis{100}, false},
        // A byte every 50 ms, each well inside a 5 s read deadline: only the
        // whole-request deadline can end it. (It also bounds connect and
        // handshake: 600 ms leaves 200 concurrent handshakes under
        // sanitizers room to finish, so that the read is what times out.)
        TransportCase{"TrickleFasterThanIoTimeout", Mode::trickle, Millis{50}, Millis{5000}, Millis{600},
                      Millis{5000}, kDefaultCap, "timed out", Millis{600}, false},
        // In the four below no deadline is under test: they are generous
        // (kLoose), so that 200 concurrent calls under sanitizers on a loaded
        // machine end by the cap or the close, never by a timeout (CI once
        // saw reads of the chunked body time out at 5 s).
        TransportCase{"BodyOverCap", Mode::over_cap, Millis{0}, kLoose, kLoose, kLoose, 4096,
                      "larger than 4096 bytes", Millis{0}, false},
        TransportCase{"ChunkedBodyOverCap", Mode::over_cap_chunked, Millis{0}, kLoose, kLoose, kLoose, 4096,
                      "larger than 4096 bytes", Millis{0}, false},
        TransportCase{"ClosesMidHeader", Mode::close_mid_header, Millis{0}, kLoose, kLoose, kLoose, kDefaultCap,
                      "reading the reply", Millis{0}, false},
        TransportCase{"ClosesMidChunk", Mode::close_mid_chunk, Millis{0}, kLoose, kLoose, kLoose, kDefaultCap,
                      "reading the reply", Millis{0}, false}),
    [](const auto& p) { return std::string(p.param.name); });

// ------------------------------------------------------------ wrong shapes

// Valid JSON of the wrong shape, on every reply parser the engine uses: a
// read is an error naming its endpoint (never an empty page taken for "no
// records"), a write is in doubt, and a bulk time-log write whose result
// cannot be read confirms none of its items (each in doubt: not lost, not
// reported added). One request per call: nothing is re-sent. Changed in
// issue 13: People's own ways of saying "no records" - status 0 without
// "result", and code 7024 - are an empty page (C2 evidence), not an error;
// every other shape still is.
TEST_F(Hostile, WrongShapeJsonIsAClearErrorNamingTheEndpoint) {
  HostileServer accounts(Mode::tokens, tls_);
  HostileServer server(Mode::wrong_shape, tls_);
  TransportOptions t;
  t.io_timeout = Millis{5000};
  t.request_timeout = Millis{5000};
  t.connect_timeout = Millis{5000};
  Client cl(io_, tls_.ca_cert, accounts.base_url(), server.base_url(), t, BackoffPolicy{Millis{100}, Millis{1000}, 2});
  const auto& table = shapes();
  Tally tally;
  std::map<std::string, int> expected_sent;
  auto one = [&](int rep) -> asio::awaitable<void> {
    const int n = rep % static_cast<int>(table.size());
    const Shape& s = table[static_cast<std::size_t>(n)];
    const std::string marker = "shape" + two_digits(n);
    ++expected_sent[endpoint_of(s.call)];
    Observed o = co_await perform(cl, s.call, marker, "2024-05-01", 2);
    ++tally.calls;
    tally.slowest = std::max(tally.slowest, o.elapsed);
    const std::string what = "shape " + std::to_string(n) + " (" + s.body + ")";
    if (s.outcome == Outcome::ok) {
      tally.check(!o.error, rep, what + ": " + o.err.message);
      if (s.call != Call::people_timelog_write) {
        tally.check(o.listed == 0, rep, what + ": not an empty page (" + std::to_string(o.listed) + " items)");
        co_return;
      }
      tally.check(o.items.size() == 2, rep, what + ": not one result per item");
      for (const auto& item : o.items)
        tally.check(item.kind == TimelogItemResult::Kind::failed && item.outcome == Outcome::in_doubt, rep,
                    what + ": an item is not in doubt ('" + item.timelog_id + "')");
      co_return;
    }
    tally.check(o.error, rep, what + ": no error");
    if (!o.error) co_return;
    if (tally.sample.empty() || n == 1) tally.sample = o.err.message;
    std::string name = s.endpoint;
    if (const auto at = name.find("NN"); at != std::string::npos) name.replace(at, 2, two_digits(n));
    tally.check(contains(o.err.message, name), rep, what + ": '" + o.err.message + "' does not name " + name);
    tally.check(contains(o.err.message, s.says), rep, what + ": '" + o.err.message + "' does not say " + s.says);
    tally.check(o.err.outcome == s.outcome, rep,
                what + ": outcome " + std::string(to_string(o.err.outcome)) + " for '" + o.err.message + "'");
  };
  // Successful exchanges keep their connections: at most the pool's worth stay open.
  const int pooled = static_cast<int>(cl.options.max_idle_per_host);
  const Figures f = repeat(
      io_, [&](int rep) { return one(rep); }, {accounts.port(), server.port()},
      [&] {
        if (!server.wait_open_at_most(pooled)) ADD_FAILURE() << server.open() << " connection(s) still open";
      });
  print_figures("WrongShapeJson", f, tally);
  EXPECT_EQ(tally.bad, 0) << tally.report();
  expect_flat(f);
  for (const auto& [endpoint, n] : expected_sent) EXPECT_EQ(cl.counting->sent(endpoint), n) << endpoint;
  int total = 0;
  for (const auto& [endpoint, n] : expected_sent) total += n;
  EXPECT_EQ(server.total_requests(), total) << "a call was sent more than once";
}

// The OAuth token endpoint answers valid JSON of the wrong shape, or never
// answers: the grant is tried a bounded number of times and the call fails
// with an error naming the accounts endpoint; nothing reaches the API.
TEST_F(Hostile, TokenEndpointOfTheWrongShapeOrSilentIsAClearError) {
  HostileServer wrong(Mode::wrong_shape, tls_);
  HostileServer silent(Mode::never_answer, tls_);
  HostileServer api(Mode::wrong_shape, tls_);
  TransportOptions t;
  t.io_timeout = Millis{100};
  t.request_timeout = Millis{5000};
  t.connect_timeout = Millis{5000};
  constexpr int kGrantAttempts = 2;
  Client via_wrong(io_, tls_.ca_cert, wrong.base_url(), api.base_url(), t, BackoffPolicy{});
  Client via_silent(io_, tls_.ca_cert, silent.base_url(), api.base_url(), t, BackoffPolicy{});
  Tally tally;
  int silent_reps = 0;
  auto one = [&](int rep) -> asio::awaitable<void> {
    Client& cl = rep % 2 ? via_silent : via_wrong;
    silent_reps += rep % 2;
    // A provider per call, so that every call makes its own grant attempts.
    TokenProvider tokens(*cl.counting, cl.zoho, cl.clock, cl.sleeper, cl.random);
    tokens.set_max_attempts(kGrantAttempts);
    ZohoApi api_client(*cl.counting, tokens, cl.clock, cl.sleeper, cl.random);
    PeopleClient people(api_client, cl.zoho.people_url);
    const auto start = steady::now();
    auto r = co_await people.get_projects(0);
    const Millis elapsed = std::chrono::duration_cast<Millis>(steady::now() - start);
    ++tally.calls;
    tally.slowest = std::max(tally.slowest, elapsed);
    const auto* e = std::get_if<CallError>(&r);
    tally.check(e != nullptr, rep, "no error");
    if (!e) co_return;
    if (rep < 2) tally.sample += (tally.sample.empty() ? "" : " | ") + e->message;
    tally.check(contains(e->message, "accounts/token"), rep, "'" + e->message + "' does not name accounts/token");
    tally.check(contains(e->message, rep % 2 ? "timed out" : "unexpected reply"), rep, "'" + e->message + "'");
    tally.check(e->outcome == Outcome::retry, rep, "outcome " + std::string(to_string(e->outcome)));
    tally.check(elapsed <= kGrantAttempts * t.request_timeout + kSlack, rep,
                "took " + std::to_string(elapsed.count()) + " ms");
  };
  const Figures f = repeat(
      io_, [&](int rep) { return one(rep); }, {wrong.port(), silent.port(), api.port()},
      [&] {
        if (!silent.wait_open_at_most(0)) ADD_FAILURE() << silent.open() << " connection(s) still open";
      });
  print_figures("TokenEndpointHostile", f, tally);
  EXPECT_EQ(tally.bad, 0) << tally.report();
  expect_flat(f);
  EXPECT_EQ(wrong.total_requests(), (kReps - silent_reps) * kGrantAttempts);
  EXPECT_EQ(silent.total_requests(), silent_reps * kGrantAttempts);
  EXPECT_EQ(api.total_requests(), 0) << "an API call went out without a token";
}

// ------------------------------------------------------------ sandbox fault modes

class SandboxFaults : public Hostile {
 protected:
  void start(TransportOptions t, BackoffPolicy backoff) {
    // No idle pool: what the pool holds after a batch (0 to 8 connections)
    // depends on timing, and under CI load it once differed by one between
    // the warm-up and the end. Without it, every client socket left open
    // after a batch is a leak.
    t.max_idle_per_host = 0;
    sandbox_ = std::make_unique<SandboxServer>(tls_);
    client_ = std::make_unique<Client>(io_, tls_.ca_cert, sandbox_->base_url(), sandbox_->base_url(), t, backoff,
                                       sandbox_->behaviour());
    date_ = yesterday(sandbox_->clock());
    // The token first, fault-free: the faults below are for the API calls.
    Observed o;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> { o = co_await perform(*client_, Call::people_projects, "", date_); },
                   asio::detached);
    io_.run();
    io_.restart();
    ASSERT_FALSE(o.error) << o.err.message;
  }
  std::set<int> ports() const { return {sandbox_->port()}; }

  std::unique_ptr<SandboxServer> sandbox_;
  std::unique_ptr<Client> client_;
  std::string date_;
};

// A 5xx storm on every endpoint: each read, and each CRM update (it sets
// values: resent like a read since issue 13), is tried exactly max_attempts
// times (backoff between them), then fails naming its endpoint and the
// status; an add is sent once and is in doubt; the sandbox counted exactly
// the attempts, and holds no time log (its 5xx came before any work).
TEST_F(SandboxFaults, ServerErrorStormIsRetriedBoundedlyThenNamed) {
  constexpr int kAttempts = 4;
  TransportOptions t;
  t.io_timeout = t.request_timeout = t.connect_timeout = Millis{5000};
  start(t, BackoffPolicy{Millis{100}, Millis{1000}, kAttempts});
  const int logs_before = sandbox_->timelogs_held();
  sandbox_->set_faults("error_rate=1");
  Tally tally;
  std::map<Call, int> calls_of;
  auto one = [&](int rep) -> asio::awaitable<void> {
    const Call call = kSandboxRotation[rep % std::size(kSandboxRotation)];
    ++calls_of[call];
    Observed o = co_await perform(*client_, call, "", date_);
    ++tally.calls;
    tally.slowest = std::max(tally.slowest, o.elapsed);
    tally.check(o.error, rep, "no error");
    if (!o.error) co_return;
    if (tally.sample.empty()) tally.sample = o.err.message;
    const std::string name = named(call, "Deals");
    tally.check(contains(o.err.message, name + ": HTTP 50"), rep, "'" + o.err.message + "'");
    const Outcome want = is_add(call) ? Outcome::in_doubt : Outcome::retry;
    tally.check(o.err.outcome == want, rep, "outcome " + std::string(to_string(o.err.outcome)));
  };
  const int waits_before = client_->sleeper.waits;
  const Figures f = repeat(io_, [&](int rep) { return one(rep); }, ports(), nullptr);
  print_figures("SandboxServerErrorStorm", f, tally);
  EXPECT_EQ(tally.bad, 0) << tally.report();
  expect_flat(f);
  const int reads = calls_of[Call::people_jobs] + calls_of[Call::people_projects] + calls_of[Call::crm_page];
  const int resent = reads + calls_of[Call::crm_update];
  EXPECT_EQ(client_->sleeper.waits - waits_before, resent * (kAttempts - 1)) << "backoff between attempts";
  EXPECT_EQ(sandbox_->calls("people/getjobs"), calls_of[Call::people_jobs] * kAttempts);
  EXPECT_EQ(sandbox_->calls("people/getprojects"), calls_of[Call::people_projects] * kAttempts + 1);
  EXPECT_EQ(sandbox_->calls("crm/Deals"), calls_of[Call::crm_page] * kAttempts);
  EXPECT_EQ(sandbox_->calls("people/addupdatetimelogs"), calls_of[Call::people_timelog_write]) << "a write re-sent";
  EXPECT_EQ(sandbox_->calls("people/addjob"), calls_of[Call::people_add_job]) << "a write re-sent";
  // Issue 13: a CRM update is resent on a 5xx like a read (was: once, in doubt).
  EXPECT_EQ(sandbox_->calls("crm/Deals/update"), calls_of[Call::crm_update] * kAttempts);
  sandbox_->set_faults("");
  EXPECT_EQ(sandbox_->timelogs_held(), logs_before);
}

// The connection dies after the sandbox committed a bulk time-log write
// (drop_after): the call is in doubt, sent once, and the sandbox holds each
// log exactly once - none lost, none doubled.
TEST_F(SandboxFaults, ConnectionClosedAfterACommittedBulkWriteIsInDoubtNeverDoubled) {
  TransportOptions t;
  t.io_timeout = t.request_timeout = t.connect_timeout = Millis{5000};
  start(t, BackoffPolicy{Millis{100}, Millis{1000}, 4});
  const int logs_before = sandbox_->timelogs_held();
  sandbox_->set_faults("drop_after=1,only=addupdatetimelogs");
  constexpr int kItems = 2;
  Tally tally;
  auto one = [&](int rep) -> asio::awaitable<void> {
    Observed o = co_await perform(*client_, Call::people_timelog_write, "", date_, kItems);
    ++tally.calls;
    tally.slowest = std::max(tally.slowest, o.elapsed);
    tally.check(o.error, rep, "no error");
    if (!o.error) co_return;
    if (tally.sample.empty()) tally.sample = o.err.message;
    tally.check(contains(o.err.message, "people/addupdatetimelogs"), rep, "'" + o.err.message + "'");
    tally.check(o.err.outcome == Outcome::in_doubt, rep, "outcome " + std::string(to_string(o.err.outcome)));
  };
  const Figures f = repeat(io_, [&](int rep) { return one(rep); }, ports(), nullptr);
  print_figures("SandboxDropAfterCommit", f, tally);
  EXPECT_EQ(tally.bad, 0) << tally.report();
  expect_flat(f);
  EXPECT_EQ(client_->counting->sent("people/addupdatetimelogs"), kReps) << "a write was re-sent";
  EXPECT_EQ(sandbox_->calls("people/addupdatetimelogs"), kReps);
  sandbox_->set_faults("");
  EXPECT_EQ(sandbox_->timelogs_held(), logs_before + kReps * kItems) << "time logs lost or doubled";
}

// The sandbox's other faults, on reads and writes of both APIs: dropped
// before any work, a truncated body, an HTML body, a trickled reply.
struct SandboxCase {
  const char* name;
  const char* spec;
  const char* says;       // in every error
  bool committed;         // the sandbox did the work of each write
  bool retried;           // a transport failure: reads are tried again (a bad body is not)
  Millis io_timeout;
  // The sandbox's trickle sessions outlive the client's by two of their
  // 200 ms writes (the first to a closed peer still succeeds), so its
  // sessions are still winding down at every measurement and only the
  // client's descriptors are compared; RSS flatness under a trickle is
  // checked against the purpose-built server, which settles.
  bool servers_settle = true;
  friend void PrintTo(const SandboxCase& c, std::ostream* os) { *os << c.name; }
};

class SandboxFault : public SandboxFaults, public ::testing::WithParamInterface<SandboxCase> {};

TEST_P(SandboxFault, ReadsRetryWritesInDoubtNothingDoubled) {
  const SandboxCase& sc = GetParam();
  constexpr int kAttempts = 2;
  TransportOptions t;
  t.io_timeout = sc.io_timeout;
  t.request_timeout = t.connect_timeout = Millis{5000};
  start(t, BackoffPolicy{Millis{100}, Millis{1000}, kAttempts});
  const int logs_before = sandbox_->timelogs_held();
  sandbox_->set_faults(sc.spec);
  Tally tally;
  std::map<Call, int> calls_of;
  auto one = [&](int rep) -> asio::awaitable<void> {
    const Call call = kSandboxRotation[rep % std::size(kSandboxRotation)];
    ++calls_of[call];
    Observed o = co_await perform(*client_, call, "", date_);
    ++tally.calls;
    tally.slowest = std::max(tally.slowest, o.elapsed);
    tally.check(o.error, rep, "no error");
    if (!o.error) co_return;
    if (tally.sample.empty()) tally.sample = o.err.message;
    const std::string name = named(call, "Deals");
    tally.check(contains(o.err.message, name), rep, "'" + o.err.message + "' does not name " + name);
    tally.check(contains(o.err.message, sc.says), rep, "'" + o.err.message + "' does not say " + sc.says);
    // An add may have landed: in doubt. A CRM update is resent like a read
    // after a transport failure (issue 13), so it ends as a read does; a
    // 200 with a body it cannot read (garbage) is not resent and leaves it
    // in doubt.
    Outcome want = Outcome::retry;
    if (is_add(call) || (call == Call::crm_update && !sc.retried)) want = Outcome::in_doubt;
    tally.check(o.err.outcome == want, rep,
                "outcome " + std::string(to_string(o.err.outcome)) + " for '" + o.err.message + "'");
    tally.check(o.elapsed <= kAttempts * t.request_timeout + kSlack, rep,
                "took " + std::to_string(o.elapsed.count()) + " ms");
  };
  const Figures f = repeat(io_, [&](int rep) { return one(rep); }, ports(), nullptr);
  print_figures(std::string("Sandbox") + sc.name, f, tally);
  EXPECT_EQ(tally.bad, 0) << tally.report();
  expect_flat(f, sc.servers_settle);
  EXPECT_EQ(client_->counting->sent("people/addupdatetimelogs"), calls_of[Call::people_timelog_write])
      << "a write was re-sent";
  EXPECT_EQ(client_->counting->sent("people/addjob"), calls_of[Call::people_add_job]) << "a write was re-sent";
  EXPECT_EQ(client_->counting->sent("people/getjobs"), calls_of[Call::people_jobs] * (sc.retried ? kAttempts : 1));
  EXPECT_EQ(client_->counting->sent("PUT crm"), calls_of[Call::crm_update] * (sc.retried ? kAttempts : 1))
      << "a CRM update is resent like a read, boundedly";
  sandbox_->set_faults("");
  EXPECT_EQ(sandbox_->timelogs_held(), logs_before + (sc.committed ? calls_of[Call::people_timelog_write] : 0))
      << "time logs lost or doubled";
}

INSTANTIATE_TEST_SUITE_P(
    Modes, SandboxFault,
    ::testing::Values(SandboxCase{"DropBefore", "drop_before=1", "reading the reply", false, true, Millis{5000}, true},
                      SandboxCase{"Truncate", "truncate=1", "reading the reply", true, true, Millis{5000}, true},
                      SandboxCase{"Garbage", "garbage=1", "unexpected reply", true, false, Millis{5000}, true},
                      SandboxCase{"Trickle", "trickle=1", "timed out", true, true, Millis{100}, false}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace peoplesync::hostile
