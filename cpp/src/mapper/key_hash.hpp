// The hash of the mapper's exact caches (layer_memo.hpp, search_cache.hpp): a key's 8-byte words (keys have no
// padding: int64 and double fields only), each mixed in by a multiply and a rotate into one of four lanes (word i
// into lane i mod 4: four short dependency chains, not one long one, for keys of ~70 words), the lanes folded
// together the same way, then a final avalanche (splitmix64's). Equal keys hash equal, and most one-field changes
// spread. Internal to the core.
#pragma once

#include <cstdint>
#include <cstring>

namespace codesign::detail {

template <typename Key>
std::size_t hash_key_words(const Key& k) {
    static_assert(sizeof(Key) % 8 == 0, "keys are 8-byte words");
    std::uint64_t words[sizeof(Key) / 8];
    std::memcpy(words, &k, sizeof(Key));
    auto mix = [](std::uint64_t h, std::uint64_t w) {
        h ^= w * 0xBF58476D1CE4E5B9ULL;
        return (h << 27 | h >> 37) * 0x94D049BB133111EBULL;
    };
    std::uint64_t lane[4] = {0x9E3779B97F4A7C15ULL, 0x3C6EF372FE94F82AULL, 0xDAA66D2C7DDF743FULL,
                             0x78DDE6E5FD29F054ULL};
    for (std::size_t i = 0; i < sizeof(Key) / 8; ++i) lane[i % 4] = mix(lane[i % 4], words[i]);
    std::uint64_t h = mix(mix(mix(lane[0], lane[1]), lane[2]), lane[3]);
    h ^= h >> 31;
    return static_cast<std::size_t>(h);
}

}  // namespace codesign::detail
