// The window kind of source (Zoho Projects logs, Zoho Books time entries)
// through the engine's window driver, with a scripted source and a recording
// target: only what changed is written, what disappeared from a window read
// completely is removed, and nothing is concluded from a partial read or
// about records outside the window. No network, no wall clock.
#include "sync/window_stream.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <map>

#include "config/loader.hpp"
#include "connectors/people.hpp"
#include "state/store.hpp"
#include "support/fake_transport.hpp"

namespace peoplesync::sync {
namespace {

namespace fs = std::filesystem;

class HalfRandom final : public connectors::Random {
 public:
  double uniform() override { return 0.5; }
};

// Hands over what the test put in its window; `complete` as scripted.
class ScriptedWindow final : public WindowSource {
 public:
  std::map<std::string, SourceRecord> records;  // by key
  bool complete = true;
  std::vector<std::pair<std::string, std::string>> asked;  // (from, to) of each read

  boost::asio::awaitable<connectors::Expected<WindowRead>> read_window(const std::string& from,
                                                                      const std::string& to) override {
    asked.emplace_back(from, to);
    WindowRead r;
    r.calls = 1;
    r.complete = complete;
    for (const auto& [k, rec] : records)
      if (rec.day >= from && rec.day <= to) r.records.push_back(rec);
    co_return r;
  }

  void put(const std::string& key, const std::string& day, const std::string& hours) {
    SourceRecord r;
    r.key = key;
    r.day = day;
    r.record = Value::object({{"user", Value::string("ana@example.com")},
                              {"job", Value::string("J1")},
                              {"day", Value::string(day)},
                              {"hours", Value::string(hours)}});
    records[key] = r;
  }
};

// Confirms every write as a target would (the id map with the mapping's
// hash and the record's day) and records what it was asked to do.
class RecordingTarget final : public Target {
 public:
  explicit RecordingTarget(Pass& pass) : pass_(pass) {}
  std::vector<std::string> written, removed;

  boost::asio::awaitable<Step> write(const config::Stream& s, std::vector<Ready>& items, state::Commit& c,
                                     StreamReport& rep, Shown&) override {
    for (auto& [w, m] : items) {
      const auto existing = pass_.store.id_map_get(s.name, w.key);
      if (existing && existing->hash == m.hash) {
        ++rep.unchanged;
        continue;
      }
      written.push_back(w.key);
      ++(existing ? rep.updated : rep.created);
      c.id_map_upserts.push_back({s.name, w.key, "T-" + w.key, m.hash, 0, w.day});
    }
    co_return Step{};
  }
  boost::asio::awaitable<std::optional<std::vector<ReadBack>>> read_back(const config::Stream&,
                                                                         const std::vector<state::OutboxEntry>&,
                                                                         std::set<std::string>&,
                                                                         StreamReport&) override {
    co_return std::vector<ReadBack>{};
  }
  boost::asio::awaitable<std::optional<connectors::CallError>> remove(const config::Stream& s, const std::string& key,
                                                                      const std::string& target_id, state::Commit& c,
                                                                      StreamReport&) override {
    removed.push_back(key + "=" + target_id);
    c.id_map_deletes.emplace_back(s.name, key);
    co_return std::nullopt;
  }

 private:
  Pass& pass_;
};

constexpr const char* kConfig =
    "zoho:\n  client_id: x\n  client_secret: y\n  refresh_token: z\n"
    "streams:\n"
    "  - name: logs\n"
    "    from: {crm: Calls}\n"
    "    to: people.timelog\n"
    "    map:\n"
    "      user: \"{user}\"\n"
    "      jobId: \"{job}\"\n"
    "      date: \"{day}\"\n"
    "      hours: \"{hours}\"\n"
    "    on_delete: delete\n";

class WindowStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("peoplesync-window-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config::LoadOptions lo;
    lo.require_secrets = false;
    auto lr = config::load_config_text(kConfig, "window.yaml", lo);
    ASSERT_TRUE(lr.ok()) << (lr.errors.empty() ? "" : lr.errors.front().format());
    cfg_ = lr.config;
    store_ = state::Store::open((dir_ / "state.db").string(), clock_);
    pass_ = std::make_unique<Pass>(*cfg_, *store_, clock_, opt_);
    resolution_ = std::make_unique<Resolution>(*pass_, people_);
    target_ = std::make_unique<RecordingTarget>(*pass_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  StreamReport poll(const Window& w) {
    pass_->begin();
    resolution_->begin();
    target_->written.clear();
    target_->removed.clear();
    StreamReport rep;
    rep.stream = "logs";
    boost::asio::co_spawn(
        io_,
        [&]() -> boost::asio::awaitable<void> {
          co_await run_window_stream(*pass_, *resolution_, cfg_->streams.front(), source_, *target_, w, rep);
        },
        boost::asio::detached);
    io_.run();
    io_.restart();
    return rep;
  }

  fs::path dir_;
  boost::asio::io_context io_;
  ManualClock clock_;
  connectors::VirtualSleeper sleeper_{clock_};
  HalfRandom random_;
  peoplesync::testing::FakeTransport fake_;
  config::Zoho zoho_;
  connectors::TokenProvider tokens_{fake_, zoho_, clock_, sleeper_, random_};
  connectors::ZohoApi api_{fake_, tokens_, clock_, sleeper_, random_};
  connectors::PeopleClient people_{api_, "https://people.example"};
  config::ConfigPtr cfg_;
  std::unique_ptr<state::Store> store_;
  EngineOptions opt_;
  std::unique_ptr<Pass> pass_;
  std::unique_ptr<Resolution> resolution_;
  std::unique_ptr<RecordingTarget> target_;
  ScriptedWindow source_;
};

const Window kDecember{"2026-12-01", "2026-12-31"};

TEST_F(WindowStreamTest, AnEditADeletionAndAnAdditionAreAllThatIsWritten) {
  source_.put("L1", "2026-12-02", "01:00");
  source_.put("L2", "2026-12-03", "02:00");
  source_.put("L3", "2026-12-04", "03:00");
  StreamReport first = poll(kDecember);
  EXPECT_TRUE(first.completed) << first.error;
  EXPECT_EQ(first.created, 3);
  EXPECT_EQ(target_->written, (std::vector<std::string>{"L1", "L2", "L3"}));

  // Nothing changed: nothing written, nothing removed.
  StreamReport again = poll(kDecember);
  EXPECT_EQ(again.unchanged, 3);
  EXPECT_TRUE(target_->written.empty());
  EXPECT_TRUE(target_->removed.empty());

  // L1 edited, L2 deleted at the source, L4 added.
  source_.put("L1", "2026-12-02", "01:30");
  source_.records.erase("L2");
  source_.put("L4", "2026-12-05", "04:00");
  StreamReport edits = poll(kDecember);
  EXPECT_TRUE(edits.completed) << edits.error;
  EXPECT_EQ(target_->written, (std::vector<std::string>{"L1", "L4"}));
  EXPECT_EQ(target_->removed, (std::vector<std::string>{"L2=T-L2"}));
  EXPECT_EQ(edits.updated, 1);
  EXPECT_EQ(edits.created, 1);
  EXPECT_EQ(edits.deleted, 1);
  EXPECT_EQ(edits.unchanged, 1);
  EXPECT_FALSE(store_->id_map_get("logs", "L2"));
  EXPECT_EQ(store_->id_map_get("logs", "L4")->source_day, "2026-12-05");
}

TEST_F(WindowStreamTest, APartialReadRemovesNothing) {
  source_.put("L1", "2026-12-02", "01:00");
  source_.put("L2", "2026-12-03", "02:00");
  poll(kDecember);
  source_.records.erase("L2");
  source_.complete = false;
  StreamReport partial = poll(kDecember);
  EXPECT_TRUE(target_->removed.empty());
  EXPECT_FALSE(partial.completed);
  EXPECT_NE(partial.error.find("not read completely"), std::string::npos) << partial.error;
  EXPECT_TRUE(store_->id_map_get("logs", "L2"));
  // Read whole again: now it goes.
  source_.complete = true;
  poll(kDecember);
  EXPECT_EQ(target_->removed, (std::vector<std::string>{"L2=T-L2"}));
}

TEST_F(WindowStreamTest, RecordsOutsideTheWindowAreLeftAlone) {
  source_.put("OLD", "2026-11-20", "01:00");
  source_.put("NEW", "2026-12-02", "01:00");
  poll(Window{"2026-11-15", "2026-12-31"});
  ASSERT_EQ(target_->written.size(), 2u);
  // The window rolls on: OLD is no longer in it, and is not "missing".
  StreamReport later = poll(kDecember);
  EXPECT_TRUE(later.completed) << later.error;
  EXPECT_TRUE(target_->removed.empty());
  EXPECT_TRUE(store_->id_map_get("logs", "OLD"));
  ASSERT_EQ(source_.asked.size(), 2u);
  EXPECT_EQ(source_.asked.back(), (std::pair<std::string, std::string>{"2026-12-01", "2026-12-31"}));
}

TEST_F(WindowStreamTest, ARecordReadTwiceInOneWindowIsWrittenOnce) {
  source_.put("L1", "2026-12-02", "01:00");
  // Paging that moved under the read: the same record on two pages.
  class Twice final : public WindowSource {
   public:
    explicit Twice(ScriptedWindow& inner) : inner_(inner) {}
    boost::asio::awaitable<connectors::Expected<WindowRead>> read_window(const std::string& f,
                                                                        const std::string& t) override {
      auto r = co_await inner_.read_window(f, t);
      auto& read = std::get<WindowRead>(r);
      read.records.push_back(read.records.front());
      co_return r;
    }
    ScriptedWindow& inner_;
  } twice(source_);
  StreamReport rep;
  rep.stream = "logs";
  pass_->begin();
  boost::asio::co_spawn(
      io_,
      [&]() -> boost::asio::awaitable<void> {
        co_await run_window_stream(*pass_, *resolution_, cfg_->streams.front(), twice, *target_, kDecember, rep);
      },
      boost::asio::detached);
  io_.run();
  EXPECT_EQ(rep.read, 1);
  EXPECT_EQ(target_->written, (std::vector<std::string>{"L1"}));
}

}  // namespace
}  // namespace peoplesync::sync
