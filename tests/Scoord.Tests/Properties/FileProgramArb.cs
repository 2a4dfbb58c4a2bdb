using FsCheck;
using FsCheck.Fluent;

namespace Scoord.Tests.Properties;

/// <summary>Generator and shrinker of <see cref="FileProgram"/>s.</summary>
public static class FileProgramArb
{
    /// <summary>Offsets cluster around block boundaries (4096) and go beyond EOF of the 5000-byte seed file.</summary>
    private static readonly Gen<int> s_offset = Gen.OneOf(
        Gen.Choose(0, 16384),
        Gen.Elements(0, 1, 4095, 4096, 4097, 5000, 8192, 12288, 16000));

    private static readonly Gen<int> s_length = Gen.OneOf(Gen.Choose(1, 64), Gen.Choose(1, 9000), Gen.Elements(4096, 8192));

    private static readonly Gen<StepOp> s_op = Gen.Frequency(
        (3, Gen.Constant(StepOp.Create)),
        (3, Gen.Constant(StepOp.WriteNew)),
        (5, Gen.Constant(StepOp.Write)),
        (3, Gen.Constant(StepOp.Append)),
        (3, Gen.Constant(StepOp.Truncate)),
        (4, Gen.Constant(StepOp.Rename)),
        (2, Gen.Constant(StepOp.Unlink)),
        (2, Gen.Constant(StepOp.UnlinkOpenThenWrite)),
        (2, Gen.Constant(StepOp.Link)),
        (2, Gen.Constant(StepOp.Symlink)),
        (3, Gen.Constant(StepOp.Mkdir)),
        (2, Gen.Constant(StepOp.Rmdir)),
        (2, Gen.Constant(StepOp.Chmod)),
        (2, Gen.Constant(StepOp.Utime)),
        (2, Gen.Constant(StepOp.SetXattr)),
        (1, Gen.Constant(StepOp.RemoveXattr)),
        (2, Gen.Constant(StepOp.MmapWrite)),
        (1, Gen.Constant(StepOp.MmapAcrossCheckpoint)),
        (3, Gen.Constant(StepOp.Checkpoint)));

    public static readonly Gen<Step> StepGen =
        from op in s_op
        from a in Gen.Choose(0, 11)
        from b in Gen.Choose(0, 11)
        from off in s_offset
        from len in s_length
        from seed in Gen.Choose(0, 255)
        select new Step(op, a, b, off, len, seed);

    /// <summary>Programs of 1..maxSteps steps and <paramref name="rollbacks"/> rollback picks.</summary>
    public static Arbitrary<FileProgram> Programs(int maxSteps, int rollbacks)
    {
        Gen<FileProgram> gen =
            from n in Gen.Choose(1, maxSteps)
            from steps in StepGen.ArrayOf(n)
            from picks in Gen.Choose(0, 7).ArrayOf(rollbacks)
            select new FileProgram(steps, picks);
        return Arb.From(gen, Shrink);
    }

    /// <summary>
    /// Smaller programs first: drop runs of steps (halves, quarters, ... single steps), then simplify the
    /// picks, then simplify each step's fields towards 0 / 1.
    /// </summary>
    public static IEnumerable<FileProgram> Shrink(FileProgram p)
    {
        int n = p.Steps.Count;
        for (int chunk = n / 2; chunk >= 1; chunk /= 2)
        {
            for (int start = 0; start + chunk <= n; start += chunk)
            {
                if (n - chunk >= 1)
                {
                    yield return new FileProgram([.. p.Steps.Take(start), .. p.Steps.Skip(start + chunk)], p.RollbackPicks);
                }
            }
        }

        for (int i = 0; i < p.RollbackPicks.Count; i++)
        {
            if (p.RollbackPicks[i] % p.MaxCheckpointCount != 0)
            {
                int[] picks = [.. p.RollbackPicks];
                picks[i] = 0;
                yield return new FileProgram(p.Steps, picks);
            }
        }

        if (p.RollbackPicks.Count > 1)
        {
            yield return new FileProgram(p.Steps, [p.RollbackPicks[^1]]);
        }

        for (int i = 0; i < n; i++)
        {
            foreach (Step s in ShrinkStep(p.Steps[i]))
            {
                Step[] steps = [.. p.Steps];
                steps[i] = s;
                yield return new FileProgram(steps, p.RollbackPicks);
            }
        }
    }

    private static IEnumerable<Step> ShrinkStep(Step s)
    {
        if (s.Op == StepOp.MmapAcrossCheckpoint)
        {
            yield return s with { Op = StepOp.MmapWrite };
        }

        if (s.Op is StepOp.WriteNew or StepOp.UnlinkOpenThenWrite)
        {
            yield return s with { Op = s.Op == StepOp.WriteNew ? StepOp.Create : StepOp.Unlink };
        }

        if (s.Len > 1)
        {
            yield return s with { Len = 1 };
            if (s.Len > 2)
            {
                yield return s with { Len = s.Len / 2 };
            }
        }

        if (s.Off > 0)
        {
            yield return s with { Off = 0 };
            if (s.Off > 1)
            {
                yield return s with { Off = s.Off / 2 };
            }
        }

        if (s.Seed > 0)
        {
            yield return s with { Seed = 0 };
        }

        if (s.A > 0)
        {
            yield return s with { A = 0 };
        }

        if (s.B > 0)
        {
            yield return s with { B = 0 };
        }
    }
}
