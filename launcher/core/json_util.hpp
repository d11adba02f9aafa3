// Typed access to a parsed JSON document that names the file and JSON pointer of any bad value,
// so every input error reads "FILE: /syscalls/3/action: unknown action ...".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace bulwark {

using Json = nlohmann::json;

// Parses text that came from `file`; syntax errors name the file, line and column.
Json parse_json(const std::string& text, const std::string& file);
// Reads and parses a file.
Json load_json_file(const std::string& path);

// Closest candidate by edit distance, or empty when nothing is reasonably close.
std::string nearest_word(std::string_view word, const std::vector<std::string_view>& candidates);

class JsonAt {
  public:
    JsonAt(const Json& value, std::string file, std::string pointer = "")
        : v_(&value), file_(std::move(file)), ptr_(std::move(pointer)) {}

    const Json& raw() const { return *v_; }
    const std::string& file() const { return file_; }
    std::string pointer() const { return ptr_.empty() ? "/" : ptr_; }

    [[noreturn]] void fail(const std::string& msg) const;
    // Runs fn: an InputError from a parser that knows nothing of files (a size, a CIDR, a
    // flag's value) is raised again at this value's file and JSON path.
    template <class Fn>
    auto here(Fn&& fn) const {
        try {
            return fn();
        } catch (const InputError& e) {
            fail(e.what());
        }
    }

    bool is_null() const { return v_->is_null(); }
    // The member `key` if present (and not absent); requires an object.
    std::optional<JsonAt> get(std::string_view key) const;
    JsonAt at(std::string_view key) const;  // required member
    JsonAt operator[](size_t i) const;
    size_t size() const;  // requires an array

    // Requires an object whose keys are all in `allowed`; an unknown key is an error that
    // suggests the nearest allowed one.
    void only_keys(std::initializer_list<std::string_view> allowed) const;
    // The same check, for formats other tools extend: one message per unknown key ("/syscalls/0:
    // unknown key \"x\" (did you mean ...)"), for the caller to warn with or fail on.
    std::vector<std::string> unknown_keys(std::initializer_list<std::string_view> allowed) const;

    std::string str() const;
    bool boolean() const;
    uint64_t u64(uint64_t max = UINT64_MAX) const;
    int64_t i64(int64_t min, int64_t max) const;
    std::vector<std::string> str_list() const;  // array of strings; a single string is accepted
    // Iterates the members of an object, in document order of nlohmann's map (sorted).
    std::vector<std::pair<std::string, JsonAt>> members() const;

  private:
    void require_object() const;
    void require_array() const;
    const Json* v_;
    std::string file_;
    std::string ptr_;
};

}  // namespace bulwark
