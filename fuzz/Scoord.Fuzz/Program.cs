using System.Diagnostics;
using Scoord.Fuzz;

// Bounded mutation fuzzing of scoord's decoders of untrusted bytes:
//   dotnet run --project fuzz/Scoord.Fuzz -- TARGET [--seconds N] [--seed N]
// Runs every seed in fuzz/corpus/TARGET/, then random mutations of them for N seconds (default 10).
// A crash prints the input as hex, saves it under fuzz/crashes/, and exits 1; add the file to the
// corpus to keep it as a regression test (tests/Scoord.Tests/Fuzz runs every corpus file).
if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out FuzzTargets.Target? target))
{
    Console.Error.WriteLine($"usage: Scoord.Fuzz TARGET [--seconds N] [--seed N]; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}

double seconds = 10;
int seed = Environment.TickCount;
for (int i = 1; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--seconds": seconds = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

string corpusDir = FuzzTargets.CorpusDirectory(args[0]);
List<byte[]> corpus = Directory.Exists(corpusDir) ? Directory.GetFiles(corpusDir).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList() : [];
if (corpus.Count == 0)
{
    corpus.Add([]);
}

var rng = new Random(seed);
long runs = 0;
var sw = Stopwatch.StartNew();
foreach (byte[] input in corpus)
{
    if (!FuzzTargets.TryRun(target, input, args[0]))
    {
        return 1;
    }

    runs++;
}

while (sw.Elapsed.TotalSeconds < seconds)
{
    byte[] input = FuzzTargets.Mutate(corpus[rng.Next(corpus.Count)], corpus[rng.Next(corpus.Count)], rng);
    if (!FuzzTargets.TryRun(target, input, args[0]))
    {
        return 1;
    }

    runs++;
}

Console.WriteLine($"{args[0]}: {runs} inputs in {sw.Elapsed.TotalSeconds:F1}s, no crash (seed {seed})");
return 0;
