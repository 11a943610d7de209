// SPDX-License-Identifier: MIT
// A C++ workload for tests/programs/run.sh: the standard containers, strings,
// shared pointers, exceptions and over-aligned objects, through operator new
// and delete.  Its output depends only on the computation.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <list>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

struct alignas(64) Line {
	uint64_t words[8];
};

static uint64_t next(uint64_t &x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static int parse(const std::string &s)
{
	if (s.empty() || s[0] == '7')
		throw std::runtime_error("rejected: " + s);
	return std::stoi(s.substr(0, 4));
}

int main()
{
	uint64_t x = 88172645463325252ull, sum = 0;
	std::map<std::string, std::vector<int>> groups;
	std::unordered_map<uint64_t, std::shared_ptr<std::string>> names;
	std::list<std::unique_ptr<Line>> lines;
	int rejected = 0;

	for (int i = 0; i < 200000; i++) {
		std::string key = std::to_string(next(x) % 5000);

		groups[key].push_back(i);
		names[x % 20000] = std::make_shared<std::string>(key + "-" + std::to_string(i));
		try {
			sum += parse(key);
		} catch (const std::runtime_error &e) {
			rejected += e.what()[0] == 'r';
		}
		if (i % 3 == 0) {
			lines.push_back(std::make_unique<Line>());
			lines.back()->words[i % 8] = i;
			sum += reinterpret_cast<uintptr_t>(lines.back().get()) % alignof(Line);
		}
		if (lines.size() > 1000)
			lines.pop_front();
	}
	std::vector<std::string> keys;
	for (const auto &g : groups)
		keys.push_back(g.first + ":" + std::to_string(g.second.size()));
	std::sort(keys.begin(), keys.end(), [](const std::string &a, const std::string &b) {
		return a.size() != b.size() ? a.size() < b.size() : a < b;
	});
	for (const auto &n : names)
		sum += n.second->size();
	printf("groups %zu, names %zu, lines %zu, rejected %d, sum %llu\n", groups.size(),
	       names.size(), lines.size(), rejected, (unsigned long long)sum);
	printf("first %s, last %s\n", keys.front().c_str(), keys.back().c_str());
	return 0;
}
