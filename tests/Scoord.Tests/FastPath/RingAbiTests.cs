using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Scoord.Journal.Ring;
using Scoord.Tests.Interceptors;
using Scoord.Tests.Support;

namespace Scoord.Tests.FastPath;

/// <summary>
/// The ring file has two definitions, interceptors/native/scoord-ring.h (the hooks) and
/// journal/Scoord.Journal/Ring (the drain, recovery and fsck): a C program compiled against the header
/// prints every constant, offset and size, and each is compared with the managed one.
/// </summary>
public sealed class RingAbiTests
{
    public static string RepoRoot([CallerFilePath] string thisFile = "")
        => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));

    private static readonly (string C, string Managed, Func<long> Value)[] s_checks =
    [
        ("FP_MAGIC", "Magic", () => unchecked((long)RingLayout.Magic)),
        ("FP_VERSION", "Version", () => RingLayout.Version),
        ("FP_STUB_ADDR", "StubAddress", () => (long)RingLayout.StubAddress),
        ("FP_STUB_SIZE", "StubSize", () => RingLayout.StubSize),
        ("FP_HEADER_SIZE", "HeaderSize", () => RingLayout.HeaderSize),
        ("FP_POLICY_OFFSET", "PolicyOffset", () => RingLayout.PolicyOffset),
        ("FP_POLICY_SIZE", "PolicySize", () => RingLayout.PolicySize),
        ("FP_PROC_OFFSET", "ProcOffset", () => RingLayout.ProcOffset),
        ("FP_PROC_COUNT", "ProcCount", () => RingLayout.ProcCount),
        ("FP_CLAIM_OFFSET", "ClaimOffset", () => RingLayout.ClaimOffset),
        ("FP_CLAIM_COUNT", "ClaimCount", () => RingLayout.ClaimCount),
        ("FP_DEV_OFFSET", "DevOffset", () => RingLayout.DevOffset),
        ("FP_DEV_COUNT", "DevCount", () => RingLayout.DevCount),
        ("FP_EPOCH_OFFSET", "EpochOffset", () => RingLayout.EpochOffset),
        ("FP_EPOCH_COUNT", "EpochCount", () => RingLayout.EpochCount),
        ("sizeof(struct fp_epoch_entry)", "EpochEntrySize", () => RingLayout.EpochEntrySize),
        ("FP_SLOT_OFFSET", "SlotOffset", () => RingLayout.SlotOffset),
        ("FP_SLOT_COUNT", "SlotCount", () => RingLayout.SlotCount),
        ("FP_SLOT_HEADER", "SlotHeaderSize", () => RingLayout.SlotHeaderSize),
        ("FP_RING_SIZE", "RingSize", () => RingLayout.RingSize),
        ("FP_SLOT_SIZE", "SlotSize", () => RingLayout.SlotSize),
        ("FP_FILE_SIZE", "FileSize", () => (long)RingLayout.FileSize),
        ("FP_MAX_RECORD", "MaxRecord", () => RingLayout.MaxRecord),
        ("FP_F_BARRIER", "FlagBarrier", () => RingLayout.FlagBarrier),
        ("FP_F_OFF", "FlagOff", () => RingLayout.FlagOff),
        ("FP_NOTIFY_OP", "NotifyOp", () => RingLayout.NotifyOp),
        ("FP_P_OFF", "ProcOff", () => RingLayout.ProcOff),
        ("FP_P_GUARDED", "ProcGuarded", () => RingLayout.ProcGuarded),
        ("FP_S_DEAD", "SlotDead", () => RingLayout.SlotDead),
        ("FP_STATE_CALL", "StateCall", () => RingLayout.StateCall),
        ("FP_CLAIM_TRACER", "ClaimTracer", () => RingLayout.ClaimTracer),
        ("FP_R_INTENT", "RecordIntent", () => RingLayout.RecordIntent),
        ("FP_R_DONE", "RecordDone", () => RingLayout.RecordDone),
        ("FP_R_WRAP", "RecordWrap", () => RingLayout.RecordWrap),
        ("FP_D_SUPERSEDE", "DoneSupersede", () => RingLayout.DoneSupersede),
        ("sizeof(struct fp_rec)", "RecordHeaderSize", () => RingLayout.RecordHeaderSize),
        ("sizeof(struct fp_intent)", "IntentSize", () => RingLayout.IntentSize),
        ("sizeof(struct fp_item)", "ItemSize", () => RingLayout.ItemSize),
        ("sizeof(struct fp_done)", "DoneSize", () => RingLayout.DoneSize),
        ("sizeof(struct fp_header)", "sizeof RingHeader", () => Marshal.SizeOf<RingHeader>()),
        ("sizeof(struct fp_slot)", "sizeof RingSlot", () => Marshal.SizeOf<RingSlot>()),
        ("sizeof(struct fp_rec)", "sizeof RingRecordHeader", () => Marshal.SizeOf<RingRecordHeader>()),
        ("sizeof(struct fp_intent)", "sizeof RingIntent", () => Marshal.SizeOf<RingIntent>()),
        ("sizeof(struct fp_item)", "sizeof RingItem", () => Marshal.SizeOf<RingItem>()),
        ("sizeof(struct fp_done)", "sizeof RingDone", () => Marshal.SizeOf<RingDone>()),
        ("offsetof(struct fp_header, seq)", "RingHeader.Seq", () => Off<RingHeader>("Seq")),
        ("offsetof(struct fp_header, epoch)", "RingHeader.Epoch", () => Off<RingHeader>("Epoch")),
        ("offsetof(struct fp_header, path_ops)", "RingHeader.PathOps", () => Off<RingHeader>("PathOps")),
        ("offsetof(struct fp_header, slot_hwm)", "RingHeader.SlotHwm", () => Off<RingHeader>("SlotHwm")),
        ("offsetof(struct fp_header, journal_id)", "RingHeader.JournalId", () => Off<RingHeader>("JournalId")),
        ("offsetof(struct fp_header, policy_len)", "RingHeader.PolicyLength", () => Off<RingHeader>("PolicyLength")),
        ("offsetof(struct fp_header, removed_limit)", "RingHeader.RemovedLimit", () => Off<RingHeader>("RemovedLimit")),
        ("offsetof(struct fp_header, drained)", "RingHeader.Drained", () => Off<RingHeader>("Drained")),
        ("offsetof(struct fp_slot, head)", "RingSlot.Head", () => Off<RingSlot>("Head")),
        ("offsetof(struct fp_slot, tail)", "RingSlot.Tail", () => Off<RingSlot>("Tail")),
        ("offsetof(struct fp_slot, nclaims)", "RingSlot.ClaimCount", () => Off<RingSlot>("ClaimCount")),
        ("offsetof(struct fp_slot, claims)", "RingSlot.Claims", () => Off<RingSlot>("Claims")),
        ("offsetof(struct fp_slot, post_len)", "RingSlot.PostLength", () => Off<RingSlot>("PostLength")),
        ("offsetof(struct fp_intent, op)", "RingIntent.Op", () => Off<RingIntent>("Op")),
        ("offsetof(struct fp_intent, dev)", "RingIntent.Dev", () => Off<RingIntent>("Dev")),
        ("offsetof(struct fp_intent, kind)", "RingIntent.Kind", () => Off<RingIntent>("Kind")),
        ("offsetof(struct fp_intent, path_len)", "RingIntent.PathLength", () => Off<RingIntent>("PathLength")),
        ("offsetof(struct fp_item, dev)", "RingItem.Dev", () => Off<RingItem>("Dev")),
        ("offsetof(struct fp_item, mode)", "RingItem.Mode", () => Off<RingItem>("Mode")),
        ("offsetof(struct fp_item, atime_ns)", "RingItem.AtimeNs", () => Off<RingItem>("AtimeNs")),
        ("offsetof(struct fp_item, data_len)", "RingItem.DataLength", () => Off<RingItem>("DataLength")),
        ("offsetof(struct fp_done, first_part)", "RingDone.FirstPart", () => Off<RingDone>("FirstPart")),
        ("offsetof(struct fp_done, dflags)", "RingDone.DoneFlags", () => Off<RingDone>("DoneFlags")),
        ("offsetof(struct fp_done, super_seq)", "RingDone.SupersedeSeq", () => Off<RingDone>("SupersedeSeq")),
    ];

    private static long Off<T>(string field) => (long)Marshal.OffsetOf<T>(field);

    [Fact]
    public void TheManagedRingLayout_MatchesScoordRingH()
    {
        using var tmp = new TempTree("scoord-ringabi-");
        string header = Path.Combine(RepoRoot(), "interceptors", "native");
        var src = new System.Text.StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include \"scoord-ring.h\"\nint main(void) {\n");
        foreach ((string c, _, _) in s_checks)
        {
            src.Append("    printf(\"%lld\\n\", (long long)(").Append(c).Append("));\n");
        }

        src.Append("    return 0;\n}\n");
        string exe = NativeTool.Compile(tmp.Path, "ringabi", src.ToString(), "-I", header);
        ProcessResult r = NativeTool.Run(exe, []);
        Assert.Equal(0, r.ExitCode);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(s_checks.Length, lines.Length);
        var mismatches = new List<string>();
        for (int i = 0; i < s_checks.Length; i++)
        {
            long c = long.Parse(lines[i], CultureInfo.InvariantCulture);
            long managed = s_checks[i].Value();
            if (c != managed)
            {
                mismatches.Add($"{s_checks[i].C} = {c}, {s_checks[i].Managed} = {managed}");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void ClaimIndex_IsTheHooksClaimIndex()
    {
        using var tmp = new TempTree("scoord-ringabi-");
        const string src = """
            #include <stdio.h>
            #include <stdint.h>
            #include "scoord-ring.h"
            static uint64_t mix64(uint64_t x) { x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33; return x; }
            int main(void) {
                uint64_t ids[][2] = { {2049, 12}, {0, 0}, {64768, 1UL << 40}, {1, 0xffffffffffffffffULL}, {1, 0xfffffffffffffffeULL} };
                for (int i = 0; i < 5; i++)
                    printf("%u\n", (unsigned)(mix64(ids[i][0] * 0x9e3779b97f4a7c15ULL ^ ids[i][1]) % FP_CLAIM_COUNT));
                return 0;
            }
            """;
        // The function above is a copy of claim_index in scoord-fast.c; both must stay the same as RingLayout.ClaimIndex.
        string native = File.ReadAllText(Path.Combine(RepoRoot(), "interceptors", "native", "scoord-fast.c"));
        Assert.Contains("return (uint32_t)(mix64(dev * 0x9e3779b97f4a7c15ULL ^ ino) % FP_CLAIM_COUNT);", native, StringComparison.Ordinal);
        string exe = NativeTool.Compile(tmp.Path, "claims", src, "-I", Path.Combine(RepoRoot(), "interceptors", "native"));
        string[] lines = NativeTool.Run(exe, []).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        (ulong, ulong)[] ids = [(2049, 12), (0, 0), (64768, 1UL << 40), (1, ulong.MaxValue), (1, ulong.MaxValue - 1)];
        for (int i = 0; i < ids.Length; i++)
        {
            Assert.Equal(uint.Parse(lines[i], CultureInfo.InvariantCulture), RingLayout.ClaimIndex(ids[i].Item1, ids[i].Item2));
        }
    }
}
