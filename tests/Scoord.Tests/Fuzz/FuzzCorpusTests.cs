using Scoord.Fuzz;

namespace Scoord.Tests.Fuzz;

/// <summary>Every corpus file (seeds and saved crashes) is a regression test; plus a short bounded fuzz run per target.</summary>
public sealed class FuzzCorpusTests
{
    public static TheoryData<string> Targets() => new(FuzzTargets.All.Keys);

    [Theory]
    [MemberData(nameof(Targets))]
    public void EveryCorpusInput_RunsWithoutCrashing(string name)
    {
        string dir = FuzzTargets.CorpusDirectory(name);
        string[] files = Directory.GetFiles(dir);
        Assert.NotEmpty(files);
        foreach (string file in files)
        {
            Assert.True(FuzzTargets.TryRun(FuzzTargets.All[name], File.ReadAllBytes(file), name), "crash on " + file);
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void BoundedMutationRun_FindsNoCrash(string name)
    {
        var rng = new Random(12345);
        byte[][] corpus = Directory.GetFiles(FuzzTargets.CorpusDirectory(name)).Select(File.ReadAllBytes).ToArray();
        for (int i = 0; i < 20_000; i++)
        {
            byte[] input = FuzzTargets.Mutate(corpus[rng.Next(corpus.Length)], corpus[rng.Next(corpus.Length)], rng);
            Assert.True(FuzzTargets.TryRun(FuzzTargets.All[name], input, name), "crash on " + Convert.ToHexString(input));
        }
    }
}
