using Scoord.Fuzz.Targets;

namespace Scoord.Fuzz;

/// <summary>The registry of fuzz targets and a small structure-unaware mutator.</summary>
public static class FuzzTargets
{
    public delegate void Target(ReadOnlySpan<byte> input);

    public static readonly IReadOnlyDictionary<string, Target> All = new Dictionary<string, Target>(StringComparer.Ordinal)
    {
        ["journal-record"] = JournalRecordTarget.Fuzz,
        ["path"] = PathTarget.Fuzz,
        ["control-frame"] = ControlFrameTarget.Fuzz,
        ["tracee-memory"] = TraceeMemoryTarget.Fuzz,
        ["cli"] = CliArgsTarget.Fuzz,
        ["ring-record"] = RingRecordTarget.Fuzz,
    };

    /// <summary>fuzz/corpus/NAME in the repository (found upwards from the working directory or the binary).</summary>
    public static string CorpusDirectory(string name)
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "fuzz", "corpus", name);
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return Path.Combine("fuzz", "corpus", name);
    }

    public static bool TryRun(Target target, byte[] input, string name)
    {
        try
        {
            target(input);
            return true;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"{name}: crash on input {Convert.ToHexString(input)}");
            Console.Error.WriteLine(ex);
            string dir = Path.Combine("fuzz", "crashes", name);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, "crash-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(input))[..16]), input);
            return false;
        }
    }

    public static byte[] Mutate(byte[] a, byte[] b, Random rng)
    {
        var buf = new List<byte>(a);
        int edits = 1 + rng.Next(8);
        for (int e = 0; e < edits; e++)
        {
            switch (rng.Next(6))
            {
                case 0 when buf.Count > 0:
                    buf[rng.Next(buf.Count)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when buf.Count > 0:
                    buf[rng.Next(buf.Count)] = (byte)rng.Next(256);
                    break;
                case 2:
                    buf.Insert(rng.Next(buf.Count + 1), (byte)rng.Next(256));
                    break;
                case 3 when buf.Count > 0:
                    buf.RemoveAt(rng.Next(buf.Count));
                    break;
                case 4 when buf.Count > 0:
                    buf.RemoveRange(rng.Next(buf.Count), 0);
                    int at = rng.Next(buf.Count);
                    buf.RemoveRange(at, rng.Next(buf.Count - at + 1));
                    break;
                case 5 when b.Length > 0:
                    int from = rng.Next(b.Length);
                    buf.InsertRange(rng.Next(buf.Count + 1), b.AsSpan(from, rng.Next(b.Length - from + 1)).ToArray());
                    break;
            }
        }

        return [.. buf];
    }
}
