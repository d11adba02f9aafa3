#include "core/json_util.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace bulwark {

namespace {

std::string escape_pointer_token(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

const char* type_name(const Json& j) {
    return j.type_name();
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

}  // namespace

Json parse_json(const std::string& text, const std::string& file) {
    try {
        return Json::parse(text);
    } catch (const Json::exception& e) {
        // Syntax errors, and out_of_range for a number beyond a double (1e9999: found by
        // fuzz_profile, it used to end in std::terminate). nlohmann prefixes
        // "[json.exception.parse_error.101] "; the rest names line and column.
        std::string what = e.what();
        auto pos = what.find("] ");
        if (pos != std::string::npos) what = what.substr(pos + 2);
        throw InputError(file + ": invalid JSON: " + what);
    }
}

Json load_json_file(const std::string& path) {
    return parse_json(read_file(path), path);
}

std::string nearest_word(std::string_view word, const std::vector<std::string_view>& candidates) {
    // On a tie, prefer a candidate that contains the word as a subsequence: a dropped letter is
    // the likeliest typo ("limts" -> "limits", not "lists").
    auto subsequence = [&](std::string_view c) {
        size_t i = 0;
        for (char ch : c)
            if (i < word.size() && word[i] == ch) ++i;
        return i == word.size();
    };
    std::string best;
    size_t best_d = SIZE_MAX;
    for (auto c : candidates) {
        size_t d = edit_distance(word, c);
        if (d < best_d || (d == best_d && subsequence(c) && !subsequence(best))) {
            best_d = d;
            best = std::string(c);
        }
    }
    // Beyond a third of the word's length the suggestion is noise rather than a likely typo.
    if (best_d > std::max<size_t>(2, word.size() / 3)) return {};
    return best;
}

void JsonAt::fail(const std::string& msg) const {
    throw InputError(file_ + ": " + pointer() + ": " + msg);
}

void JsonAt::require_object() const {
    if (!v_->is_object()) fail(std::string("expected an object, found ") + type_name(*v_));
}

void JsonAt::require_array() const {
    if (!v_->is_array()) fail(std::string("expected an array, found ") + type_name(*v_));
}

std::optional<JsonAt> JsonAt::get(std::string_view key) const {
    require_object();
    auto it = v_->find(key);
    if (it == v_->end()) return std::nullopt;
    return JsonAt(*it, file_, ptr_ + "/" + escape_pointer_token(key));
}

JsonAt JsonAt::at(std::string_view key) const {
    auto v = get(key);
    if (v) return *v;
    std::string msg = "missing required key \"" + std::string(key) + "\"";
    // A misspelt key that was only warned about (a format others extend) is the likely cause.
    if (v_->is_object()) {
        std::vector<std::string_view> present;
        for (auto& [k, _] : v_->items()) present.push_back(k);
        if (auto near = nearest_word(key, present); !near.empty())
            msg += " (\"" + near + "\" is there: did you mean \"" + std::string(key) + "\"?)";
    }
    fail(msg);
}

JsonAt JsonAt::operator[](size_t i) const {
    require_array();
    return JsonAt((*v_)[i], file_, ptr_ + "/" + std::to_string(i));
}

size_t JsonAt::size() const {
    require_array();
    return v_->size();
}

namespace {

std::string unknown_key(const std::string& k, const std::vector<std::string_view>& keys) {
    std::string msg = "unknown key \"" + k + "\"";
    auto near = nearest_word(k, keys);
    if (!near.empty()) msg += " (did you mean \"" + near + "\"?)";
    return msg;
}

}  // namespace

void JsonAt::only_keys(std::initializer_list<std::string_view> allowed) const {
    require_object();
    std::vector<std::string_view> keys(allowed);
    for (auto& [k, _] : v_->items())
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) fail(unknown_key(k, keys));
}

std::vector<std::string> JsonAt::unknown_keys(
    std::initializer_list<std::string_view> allowed) const {
    require_object();
    std::vector<std::string_view> keys(allowed);
    std::vector<std::string> out;
    for (auto& [k, _] : v_->items())
        if (std::find(keys.begin(), keys.end(), k) == keys.end())
            out.push_back(pointer() + ": " + unknown_key(k, keys));
    return out;
}

std::string JsonAt::str() const {
    if (!v_->is_string()) fail(std::string("expected a string, found ") + type_name(*v_));
    return v_->get<std::string>();
}

bool JsonAt::boolean() const {
    if (!v_->is_boolean()) fail(std::string("expected true or false, found ") + type_name(*v_));
    return v_->get<bool>();
}

uint64_t JsonAt::u64(uint64_t max) const {
    if (!v_->is_number_integer() ||
        (v_->is_number_integer() && !v_->is_number_unsigned() && v_->get<int64_t>() < 0))
        fail(std::string("expected a non-negative integer, found ") +
             (v_->is_number() ? v_->dump() : type_name(*v_)));
    auto n = v_->get<uint64_t>();
    if (n > max)
        fail("value " + std::to_string(n) + " is above the maximum " + std::to_string(max));
    return n;
}

int64_t JsonAt::i64(int64_t min, int64_t max) const {
    if (!v_->is_number_integer()) fail(std::string("expected an integer, found ") + type_name(*v_));
    if (v_->is_number_unsigned() && v_->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        fail("value " + v_->dump() + " is out of range");
    auto n = v_->get<int64_t>();
    if (n < min || n > max)
        fail("value " + std::to_string(n) + " is outside " + std::to_string(min) + ".." +
             std::to_string(max));
    return n;
}

std::vector<std::string> JsonAt::str_list() const {
    if (v_->is_string()) return {v_->get<std::string>()};
    std::vector<std::string> out;
    for (size_t i = 0, n = size(); i < n; ++i) out.push_back((*this)[i].str());
    return out;
}

std::vector<std::pair<std::string, JsonAt>> JsonAt::members() const {
    require_object();
    std::vector<std::pair<std::string, JsonAt>> out;
    for (auto& [k, v] : v_->items())
        out.emplace_back(k, JsonAt(v, file_, ptr_ + "/" + escape_pointer_token(k)));
    return out;
}

}  // namespace bulwark
