// The hash of the mapper's exact caches (layer_memo.hpp, search_cache.hpp): a key's 8-byte words (keys have no
// padding: int64 and double fields only), each mixed in by a multiply and a rotate, then a final avalanche
// (splitmix64's). Equal keys hash equal, and most one-field changes spread. Internal to the core.
#pragma once

#include <cstdint>
#include <cstring>

namespace codesign::detail {

template <typename Key>
std::size_t hash_key_words(const Key& k) {
    static_assert(sizeof(Key) % 8 == 0, "keys are 8-byte words");
    std::uint64_t words[sizeof(Key) / 8];
    std::memcpy(words, &k, sizeof(Key));
    std::uint64_t h = 0x9E3779B97F4A7C15ULL;
    for (const std::uint64_t w : words) {
        h ^= w * 0xBF58476D1CE4E5B9ULL;
        h = (h << 27 | h >> 37) * 0x94D049BB133111EBULL;
    }
    h ^= h >> 31;
    return static_cast<std::size_t>(h);
}

}  // namespace codesign::detail
