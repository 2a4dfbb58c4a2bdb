using System.Globalization;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;

namespace Scoord.Tests.Properties.Transparency;

/// <summary>One syscall of a generated program (transparency_driver.py runs it): op, paths as bytes, a number.</summary>
public sealed record SyscallStep(string Op, byte[] A, byte[] B, long N)
{
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"{Op}({Show(A)}{(B.Length > 0 ? ", " + Show(B) : "")}, {N})");

    /// <summary>Printable, short: long runs of one byte as "n*255", other bytes escaped.</summary>
    private static string Show(byte[] b)
    {
        var sb = new StringBuilder("\"");
        for (int i = 0; i < b.Length;)
        {
            int j = i;
            while (j < b.Length && b[j] == b[i])
            {
                j++;
            }

            string c = b[i] is >= 0x21 and < 0x7f and not (byte)'"' ? ((char)b[i]).ToString() : $"\\x{b[i]:x2}";
            sb.Append(j - i > 3 ? string.Create(CultureInfo.InvariantCulture, $"{c}*{j - i}") : string.Concat(Enumerable.Repeat(c, j - i)));
            i = j;
        }

        return sb.Append('"').ToString();
    }
}

/// <summary>
/// Generated sequences of syscalls with edge arguments (each one case of the property), run by one driver
/// process, each sequence in a child process and a tree of its own: one `scoord run` (and one checkpoint and
/// one rollback) serves several cases, whose cost is mostly scoord's start-up.
/// </summary>
public sealed record SyscallProgram(IReadOnlyList<IReadOnlyList<SyscallStep>> Sequences)
{
    public int StepCount => Sequences.Sum(s => s.Count);

    public string ToJson() => JsonSerializer.Serialize(Sequences.Select(q => q.Select(s => new object[] { s.Op, Convert.ToHexStringLower(s.A), Convert.ToHexStringLower(s.B), s.N })));

    public override string ToString() =>
        string.Join('\n', Sequences.Select((q, k) => $"  sequence {k} (tree {k}/):\n" + string.Join('\n', q.Select((s, i) => $"    {i,3}: {s.Describe()}"))));
}

/// <summary>
/// Generator of <see cref="SyscallProgram"/>s: names of NAME_MAX and NAME_MAX+1 bytes, non-UTF-8 bytes and
/// newlines in names, relative paths just under and over PATH_MAX, trees deeper than PATH_MAX (entered by
/// relative chdir), symlink loops and dangling symlinks, renames and links to another filesystem (tmpfs,
/// EXDEV), sticky, setuid and unreadable modes, and a switch to a non-root uid/gid part way.
/// </summary>
public static class SyscallProgramArb
{
    private static readonly byte[] s_n255 = Repeat((byte)'n', 255);

    private static readonly byte[][] s_names =
    [
        "a"u8.ToArray(), "b"u8.ToArray(), "c"u8.ToArray(), "d"u8.ToArray(), "sub"u8.ToArray(),
        s_n255, Repeat((byte)'m', 255), Repeat((byte)'n', 256),
        [0xff, 0xfe, (byte)'q'], "nl\nx"u8.ToArray(), "sp ace"u8.ToArray(), "loop"u8.ToArray(), "dl"u8.ToArray(),
    ];

    private static readonly byte[][] s_targets =
    [
        "a"u8.ToArray(), "nowhere"u8.ToArray(), "loop"u8.ToArray(), "../a"u8.ToArray(), "sub/a"u8.ToArray(), s_n255,
        Repeat((byte)'t', 300), "/nonexistent/x"u8.ToArray(), [0xff, 0xfe, (byte)'q'],
    ];

    private static readonly Gen<byte[]> s_name = Gen.Elements(s_names);

    /// <summary>Relative paths: mostly one or two names; sometimes 15 or 17 levels of NAME_MAX names (just under / over PATH_MAX), or below the tmpfs root.</summary>
    private static readonly Gen<byte[]> s_path = Gen.Frequency(
        (60, s_name),
        (20, from x in s_name from y in s_name select Join(x, y)),
        (4, from last in s_name select Join(LongRel(15), last)),
        (2, from last in s_name select Join(LongRel(17), last)),
        (8, from last in s_name select Join("@S"u8.ToArray(), last)),
        (2, Gen.Elements(".."u8.ToArray(), "."u8.ToArray(), "loop/x"u8.ToArray(), "dl/x"u8.ToArray())));

    // Modes (decimal of octal): dirs 0755, 0700, 0777, 01777 (sticky), 0555; files 0644, 0600, 0000, 04755, 02755, 01777, 0444.
    private static readonly Gen<long> s_dirMode = Gen.Elements(493L, 448L, 511L, 1023L, 365L);
    private static readonly Gen<long> s_fileMode = Gen.Elements(420L, 384L, 0L, 2541L, 1517L, 1023L, 292L);

    private static readonly Gen<SyscallStep> s_step = Gen.Frequency(
        (10, from p in s_path from m in s_dirMode select new SyscallStep("mkdir", p, [], m)),
        (5, from p in s_path select new SyscallStep("rmdir", p, [], 0)),
        (16, from p in s_path from m in s_fileMode from f in Gen.Choose(0, 7) from n in Gen.OneOf(Gen.Choose(0, 64), Gen.Choose(0, 9000))
             select new SyscallStep("create", p, [], m | ((long)f << 16) | ((long)n << 20))),
        (5, from p in s_path from o in Gen.Elements(0, 1, 4095, 4096, 9000) select new SyscallStep("pwrite", p, [], o)),
        (5, from p in s_path from n in Gen.Elements(0, 1, 4096, 10000) select new SyscallStep("truncate", p, [], n)),
        (8, from p in s_path select new SyscallStep("unlink", p, [], 0)),
        (10, from p in s_path from q in s_path select new SyscallStep("rename", p, q, 0)),
        (5, from p in s_path from q in s_path select new SyscallStep("link", p, q, 0)),
        (8, from p in s_path from t in Gen.Elements(s_targets) select new SyscallStep("symlink", p, t, 0)),
        (6, from p in s_path from m in Gen.OneOf(s_dirMode, s_fileMode) select new SyscallStep("chmod", p, [], m)),
        (4, from p in s_name select new SyscallStep("chdir", p, [], 0)),
        (4, Gen.Constant(new SyscallStep("cdroot", [], [], 0))),
        (2, from p in s_path select new SyscallStep("mkfifo", p, [], 0)),
        (2, from n in Gen.Choose(14, 18) select new SyscallStep("deep", [], [], n)),
        (1, Gen.Constant(new SyscallStep("drop", [], [], 0))));

    /// <summary><paramref name="sequences"/> sequences of <paramref name="minSteps"/>-<paramref name="maxSteps"/> steps per program.</summary>
    public static Arbitrary<SyscallProgram> Programs(int sequences, int minSteps, int maxSteps) =>
        Arb.From(
            from seqs in (from n in Gen.Choose(minSteps, maxSteps) from steps in s_step.ArrayOf(n) select (IReadOnlyList<SyscallStep>)steps).ArrayOf(sequences)
            select new SyscallProgram(seqs),
            Shrink);

    /// <summary>Fewer sequences first (each left out), then in each sequence: halves, then each step left out.</summary>
    public static IEnumerable<SyscallProgram> Shrink(SyscallProgram p)
    {
        var seqs = p.Sequences;
        if (seqs.Count > 1)
        {
            for (int k = 0; k < seqs.Count; k++)
            {
                yield return new SyscallProgram(seqs.Where((_, j) => j != k).ToArray());
            }
        }

        for (int k = 0; k < seqs.Count; k++)
        {
            IReadOnlyList<SyscallStep> steps = seqs[k];
            int n = steps.Count;
            if (n > 1)
            {
                yield return With(p, k, steps.Take(n / 2).ToArray());
                yield return With(p, k, steps.Skip(n / 2).ToArray());
            }

            for (int i = n - 1; i >= 0; i--)
            {
                yield return With(p, k, steps.Where((_, j) => j != i).ToArray());
            }
        }
    }

    private static SyscallProgram With(SyscallProgram p, int k, IReadOnlyList<SyscallStep> steps) =>
        new(p.Sequences.Select((q, j) => j == k ? steps : q).ToArray());

    private static byte[] LongRel(int levels) => Join(Enumerable.Repeat(s_n255, levels).ToArray());

    private static byte[] Join(params byte[][] parts)
    {
        var r = new List<byte>();
        foreach (byte[] part in parts)
        {
            if (r.Count > 0)
            {
                r.Add((byte)'/');
            }

            r.AddRange(part);
        }

        return [.. r];
    }

    private static byte[] Repeat(byte b, int n) => Enumerable.Repeat(b, n).ToArray();
}
