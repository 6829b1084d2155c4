// The WAL position the RESP flusher may flush to (resp_flush.hpp's FlushableLsn): a request past the end
// of the WAL generated so far is clamped to that end (the flusher used to call XLogFlush past it in a
// loop, logging "request to flush past end of generated WAL" each time), and a position just past a page
// header nobody has written moves back to the end of the previous page.
#include <gtest/gtest.h>

#include "nodedb_kv/resp/resp_flush.hpp"

namespace {

using nodedb_kv::resp::FlushableLsn;
using nodedb_kv::resp::WalGeometry;

constexpr WalGeometry kWal = {16 * 1024 * 1024, 8192, 40, 24};
constexpr uint64_t kSegment2 = 2 * kWal.segment_size;

TEST(RespFlush, TargetWithinTheWalIsKept)
{
	EXPECT_EQ(FlushableLsn(kSegment2 + 1000, kSegment2 + 5000, kWal), kSegment2 + 1000);
	EXPECT_EQ(FlushableLsn(kSegment2 + 5000, kSegment2 + 5000, kWal), kSegment2 + 5000);
}

TEST(RespFlush, TargetPastTheEndOfWalIsClampedToTheInsertPosition)
{
	EXPECT_EQ(FlushableLsn(kSegment2 + 9000, kSegment2 + 5000, kWal), kSegment2 + 5000);
	EXPECT_EQ(FlushableLsn(UINT64_MAX, kSegment2 + 5000, kWal), kSegment2 + 5000);
}

TEST(RespFlush, PositionsJustPastAnUnwrittenPageHeaderMoveBack)
{
	// The insert position at the start of a segment's first page (long header) and of another page.
	EXPECT_EQ(FlushableLsn(kSegment2 + 40, kSegment2 + 40, kWal), kSegment2);
	EXPECT_EQ(FlushableLsn(kSegment2 + 8192 + 24, kSegment2 + 8192 + 24, kWal), kSegment2 + 8192);
	// A target at such a position with the WAL already further along.
	EXPECT_EQ(FlushableLsn(kSegment2 + 8192 + 24, kSegment2 + 9000, kWal), kSegment2 + 8192);
	// A target beyond an insert position that sits just past a header: the end of the previous page.
	EXPECT_EQ(FlushableLsn(kSegment2 + 9000, kSegment2 + 8192 + 24, kWal), kSegment2 + 8192);
	// Other offsets are not moved.
	EXPECT_EQ(FlushableLsn(kSegment2 + 24, kSegment2 + 9000, kWal), kSegment2 + 24);
}

} // namespace
