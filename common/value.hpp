#pragma once
// A dynamic value: what a CRM record or a People job looks like to the sync
// layer, without any JSON. Numbers keep their text as the vendor wrote it
// (ids exceed double precision).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace peoplesync {

class Value {
 public:
  using Object = std::map<std::string, Value, std::less<>>;
  using Array = std::vector<Value>;
  enum class Kind { null, boolean, number, string, object, array };

  Value() = default;
  static Value boolean(bool b) { Value v; v.kind_ = Kind::boolean; v.text_ = b ? "true" : "false"; return v; }
  static Value number(std::string text) { Value v; v.kind_ = Kind::number; v.text_ = std::move(text); return v; }
  static Value string(std::string text) { Value v; v.kind_ = Kind::string; v.text_ = std::move(text); return v; }
  static Value object(Object o) { Value v; v.kind_ = Kind::object; v.object_ = std::make_shared<Object>(std::move(o)); return v; }
  static Value array(Array a) { Value v; v.kind_ = Kind::array; v.array_ = std::make_shared<Array>(std::move(a)); return v; }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_scalar() const { return kind_ == Kind::boolean || kind_ == Kind::number || kind_ == Kind::string; }
  // Text of a scalar ("" for null, object, array).
  const std::string& text() const { return text_; }
  const Object* as_object() const { return kind_ == Kind::object ? object_.get() : nullptr; }
  const Array* as_array() const { return kind_ == Kind::array ? array_.get() : nullptr; }

  // Member of an object; nullptr when absent or not an object.
  const Value* get(std::string_view key) const {
    if (kind_ != Kind::object) return nullptr;
    auto it = object_->find(key);
    return it == object_->end() ? nullptr : &it->second;
  }
  // Walks a dotted path ({"Owner", "email"}).
  const Value* at(const std::vector<std::string>& path) const {
    const Value* v = this;
    for (const auto& p : path) {
      v = v->get(p);
      if (!v) return nullptr;
    }
    return v;
  }

 private:
  Kind kind_ = Kind::null;
  std::string text_;
  std::shared_ptr<const Object> object_;  // immutable once built: copies share
  std::shared_ptr<const Array> array_;
};

// The text of obj[key] when it is a scalar; empty when absent or not a scalar.
inline std::string text_of(const Value& obj, std::string_view key) {
  const Value* v = obj.get(key);
  return v && v->is_scalar() ? v->text() : std::string();
}

}  // namespace peoplesync
