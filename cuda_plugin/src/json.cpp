// json.cpp — recursive-descent JSON parser (RFC 8259), depth-limited.
#include "json.h"

#include <cstdlib>
#include <cstring>

#include "error.h"

namespace cx {

const Json* Json::get(const std::string& key) const {
  if (kind != Kind::Object) return nullptr;
  for (const auto& member : object) {
    if (member.first == key) return &member.second;
  }
  return nullptr;
}

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(const char* text, size_t length, const std::string& what) : p_(text), begin_(text), end_(text + length),
      what_(what) {}

  Json parse_document() {
    Json value = parse_value(0);
    skip_space();
    if (p_ != end_) fail("unexpected trailing characters");
    return value;
  }

 private:
  const char* p_;
  const char* begin_;
  const char* end_;
  const std::string& what_;

  [[noreturn]] void fail(const std::string& why) {
    throw Error(CX_ERR_BAD_MODEL, what_ + " is not valid JSON: " + why + " at byte " + std::to_string(p_ - begin_));
  }

  void skip_space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) p_++;
  }

  void expect_word(const char* word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) fail("unexpected token");
    p_ += n;
  }

  Json parse_value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 64");
    skip_space();
    if (p_ >= end_) fail("unexpected end of input");
    Json value;
    switch (*p_) {
      case '{': parse_object(value, depth); break;
      case '[': parse_array(value, depth); break;
      case '"': value.kind = Json::Kind::String; value.string = parse_string(); break;
      case 't': expect_word("true"); value.kind = Json::Kind::Bool; value.boolean = true; break;
      case 'f': expect_word("false"); value.kind = Json::Kind::Bool; break;
      case 'n': expect_word("null"); break;
      default: value.kind = Json::Kind::Number; value.number = parse_number(); break;
    }
    return value;
  }

  void parse_object(Json& value, int depth) {
    value.kind = Json::Kind::Object;
    p_++;
    skip_space();
    if (p_ < end_ && *p_ == '}') { p_++; return; }
    for (;;) {
      skip_space();
      if (p_ >= end_ || *p_ != '"') fail("expected a string key");
      std::string key = parse_string();
      skip_space();
      if (p_ >= end_ || *p_ != ':') fail("expected ':'");
      p_++;
      value.object.emplace_back(std::move(key), parse_value(depth + 1));
      skip_space();
      if (p_ < end_ && *p_ == ',') { p_++; continue; }
      if (p_ < end_ && *p_ == '}') { p_++; return; }
      fail("expected ',' or '}'");
    }
  }

  void parse_array(Json& value, int depth) {
    value.kind = Json::Kind::Array;
    p_++;
    skip_space();
    if (p_ < end_ && *p_ == ']') { p_++; return; }
    for (;;) {
      value.array.push_back(parse_value(depth + 1));
      skip_space();
      if (p_ < end_ && *p_ == ',') { p_++; continue; }
      if (p_ < end_ && *p_ == ']') { p_++; return; }
      fail("expected ',' or ']'");
    }
  }

  double parse_number() {
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') p_++;
    if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) fail("expected a value");
    while (p_ < end_ && std::strchr("0123456789.eE+-", *p_) != nullptr && *p_ != '\0') p_++;
    std::string digits(start, p_);
    char* stop = nullptr;
    double number = std::strtod(digits.c_str(), &stop);
    if (stop != digits.c_str() + digits.size()) fail("malformed number");
    return number;
  }

  unsigned parse_hex4() {
    if (end_ - p_ < 4) fail("truncated \\u escape");
    unsigned code = 0;
    for (int i = 0; i < 4; i++) {
      char c = *p_++;
      code <<= 4;
      if (c >= '0' && c <= '9') code |= c - '0';
      else if (c >= 'a' && c <= 'f') code |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') code |= c - 'A' + 10;
      else fail("bad \\u escape");
    }
    return code;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  std::string parse_string() {
    p_++;  // opening quote
    std::string out;
    while (p_ < end_ && *p_ != '"') {
      char c = *p_++;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') { out += c; continue; }
      if (p_ >= end_) break;
      char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned code = parse_hex4();
          if (code >= 0xD800 && code < 0xDC00 && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            p_ += 2;
            unsigned low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, code);
          break;
        }
        default: fail("bad escape");
      }
    }
    if (p_ >= end_) fail("unterminated string");
    p_++;  // closing quote
    return out;
  }
};

}  // namespace

Json parse_json(const char* text, size_t length, const std::string& what) {
  return Parser(text, length, what).parse_document();
}

}  // namespace cx
