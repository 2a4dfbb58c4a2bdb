using FsCheck;
using FsCheck.Fluent;

namespace Scoord.Tests.Properties.Exactness;

/// <summary>How big the programs of one property are, and what else it generates.</summary>
public sealed record ProgramShape(int MinSteps, int MaxSteps, bool Kill = false, bool Outside = false);

/// <summary>Generator and shrinker of <see cref="ExactProgram"/>s.</summary>
public static class ExactProgramArb
{
    /// <summary>Offsets cluster around block boundaries and the 64 KiB limit, and go past the ends of the setup files.</summary>
    private static readonly Gen<int> s_offset = Gen.OneOf(
        Gen.Choose(0, 20000),
        Gen.Choose(0, FsStep.MaxFileSize),
        Gen.Elements(0, 1, 100, 4095, 4096, 4097, 5000, 8192, 12288, 15288, 16384, 32768, 65000, 65535));

    private static readonly Gen<int> s_length = Gen.OneOf(Gen.Choose(0, 64), Gen.Choose(1, 9000), Gen.Elements(4096, 8192, 16384));

    /// <summary>Seed 0 writes zeros (data, not a hole); others a pattern.</summary>
    private static readonly Gen<int> s_seed = Gen.Frequency((1, Gen.Constant(0)), (9, Gen.Choose(1, 255)));

    private static readonly Gen<StepKind> s_kind = Gen.Frequency(
        (12, Gen.Constant(StepKind.Create)),
        (16, Gen.Constant(StepKind.Overwrite)),
        (10, Gen.Constant(StepKind.Append)),
        (8, Gen.Constant(StepKind.Truncate)),
        (12, Gen.Constant(StepKind.Rename)),
        (4, Gen.Constant(StepKind.Exchange)),
        (6, Gen.Constant(StepKind.EditorSave)),
        (8, Gen.Constant(StepKind.Unlink)),
        (8, Gen.Constant(StepKind.OpenKeep)),
        (8, Gen.Constant(StepKind.UnlinkOpen)),
        (12, Gen.Constant(StepKind.FdWrite)),
        (2, Gen.Constant(StepKind.FdTruncate)),
        (4, Gen.Constant(StepKind.FdClose)),
        (6, Gen.Constant(StepKind.ReplaceNew)),
        (4, Gen.Constant(StepKind.Retype)),
        (6, Gen.Constant(StepKind.Link)),
        (6, Gen.Constant(StepKind.Symlink)),
        (5, Gen.Constant(StepKind.Mkdir)),
        (4, Gen.Constant(StepKind.Rmdir)),
        (6, Gen.Constant(StepKind.Chmod)),
        (2, Gen.Constant(StepKind.Chown)),
        (6, Gen.Constant(StepKind.Utime)),
        (4, Gen.Constant(StepKind.SetXattr)),
        (2, Gen.Constant(StepKind.RemoveXattr)),
        (6, Gen.Constant(StepKind.MmapOpen)),
        (6, Gen.Constant(StepKind.MmapWrite)),
        (2, Gen.Constant(StepKind.MmapClose)),
        (4, Gen.Constant(StepKind.PunchHole)),
        (1, Gen.Constant(StepKind.ShAppend)),
        (1, Gen.Constant(StepKind.ShWrite)),
        (1, Gen.Constant(StepKind.Cp)),
        (1, Gen.Constant(StepKind.Mv)),
        (1, Gen.Constant(StepKind.ShRm)),
        (1, Gen.Constant(StepKind.SedI)));

    public static readonly Gen<FsStep> StepGen =
        from kind in s_kind
        from a in Gen.Choose(0, 16)
        from b in Gen.Choose(0, 16)
        from off in s_offset
        from len in s_length
        from seed in s_seed
        select new FsStep(kind, a, b, off, len, seed);

    private static readonly Gen<OutsideChange> s_outside =
        from kind in Gen.Elements(Enum.GetValues<OutsideKind>())
        from pick in Gen.Choose(0, 1000)
        from off in s_offset
        from len in s_length
        from seed in Gen.Choose(1, 255)
        select new OutsideChange(kind, pick, off, len, seed);

    /// <summary>
    /// Programs of <see cref="ProgramShape.MinSteps"/>..<see cref="ProgramShape.MaxSteps"/> steps split
    /// into 2-4 runs (2 most often); a checkpoint from outside before the first run always, before each
    /// later run (1 in 4) and after the last (1 in 5) sometimes; 0-2 checkpoints from inside (0.7 on
    /// average); at least two checkpoints in all (after the last run when the others make fewer). Every checkpoint costs a scoord process and a listing,
    /// so the mix is kept lean: the CI time of the properties is mostly scoord's start-up.
    /// </summary>
    public static Arbitrary<ExactProgram> Programs(ProgramShape shape)
    {
        Gen<ExactProgram> gen =
            from runCount in Gen.Frequency((8, Gen.Constant(2)), (2, Gen.Constant(3)), (1, Gen.Constant(4)))
            from total in Gen.Choose(shape.MinSteps, shape.MaxSteps)
            from steps in StepGen.ArrayOf(total)
            from insideCount in Gen.Frequency((9, Gen.Constant(0)), (8, Gen.Constant(1)), (3, Gen.Constant(2)))
            from insidePositions in Gen.Choose(0, total).ArrayOf(insideCount)
            from cuts in Gen.Choose(1, Math.Max(1, total - 1)).ArrayOf(runCount - 1)
            from before in Gen.Frequency((1, Gen.Constant(true)), (3, Gen.Constant(false))).ArrayOf(runCount)
            from after in Gen.Frequency((1, Gen.Constant(true)), (4, Gen.Constant(false)))
            from first in Gen.Choose(0, 1000)
            from second in Gen.Choose(0, 1000)
            from killStep in Gen.Choose(0, Math.Max(0, shape.MaxSteps / 2))
            from killDelay in Gen.Frequency((2, Gen.Constant(0)), (3, Gen.Choose(1, 40)))
            from outsideCount in Gen.Choose(1, 6)
            from outside in s_outside.ArrayOf(outsideCount)
            from fullOnSecond in Gen.Elements(false, true)
            select Build(shape, steps, insidePositions, cuts, before, after, first, second, new KillPlan(killStep, killDelay), outside, fullOnSecond);
        return Arb.From(gen, Shrink);
    }

    private static ExactProgram Build(ProgramShape shape, FsStep[] steps, int[] insidePositions, int[] cuts, bool[] before, bool after, int first, int second, KillPlan kill, OutsideChange[] outside, bool fullOnSecond)
    {
        var all = new List<FsStep>(steps);
        foreach (int p in insidePositions.OrderDescending())
        {
            all.Insert(Math.Min(p, all.Count), new FsStep(StepKind.Checkpoint));
        }

        int[] bounds = [0, .. cuts.Select(c => Math.Min(c, all.Count)).Order(), all.Count];
        var runs = new List<ProgramRun>();
        for (int r = 0; r + 1 < bounds.Length; r++)
        {
            runs.Add(new ProgramRun(r == 0 || before[r], all.GetRange(bounds[r], bounds[r + 1] - bounds[r])));
        }

        int checkpoints = runs.Count(r => r.CheckpointBefore) + insidePositions.Length + (after ? 1 : 0);
        if (shape.Kill)
        {
            // The kill needs a checkpoint before the last run to roll back to (the first run's always is).
            // Its step is one of the last run's.
            int lastSteps = runs[^1].Steps.Count;
            kill = kill with { AfterStep = lastSteps == 0 ? 0 : kill.AfterStep % lastSteps };
        }

        return new ExactProgram(runs, after || checkpoints < 2, first, second, shape.Kill ? kill : null, shape.Outside ? outside : null, fullOnSecond);
    }

    /// <summary>
    /// Smaller programs first: drop whole runs, merge neighbouring runs, drop runs of steps (halves,
    /// quarters, ... single steps, across the runs), drop checkpoints and outside changes, simplify
    /// the picks, the kill and each step's fields towards 0.
    /// </summary>
    public static IEnumerable<ExactProgram> Shrink(ExactProgram p)
    {
        IReadOnlyList<ProgramRun> runs = p.Runs;
        for (int r = 0; r < runs.Count && runs.Count > 1; r++)
        {
            var fewer = runs.Where((_, i) => i != r).ToList();
            fewer[0] = fewer[0] with { CheckpointBefore = true };
            yield return p.With(runs: fewer);
        }

        for (int r = 0; r + 1 < runs.Count; r++)
        {
            var merged = runs.ToList();
            merged[r] = merged[r] with { Steps = [.. runs[r].Steps, .. runs[r + 1].Steps] };
            merged.RemoveAt(r + 1);
            yield return p.With(runs: merged);
        }

        int n = p.StepCount;
        for (int chunk = n / 2; chunk >= 1; chunk /= 2)
        {
            for (int start = 0; start + chunk <= n; start += chunk)
            {
                yield return p.With(runs: RemoveSteps(runs, start, chunk));
            }
        }

        for (int r = 1; r < runs.Count; r++)
        {
            if (runs[r].CheckpointBefore)
            {
                var fewer = runs.ToList();
                fewer[r] = fewer[r] with { CheckpointBefore = false };
                yield return p.With(runs: fewer);
            }
        }

        if (p.CheckpointAfter)
        {
            yield return p.With(checkpointAfter: false);
        }

        for (int i = 0; i < p.Outside.Count; i++)
        {
            yield return p.With(outside: [.. p.Outside.Where((_, k) => k != i)]);
        }

        if (p.FirstPick != 0)
        {
            yield return p.With(firstPick: 0);
        }

        if (p.SecondPick != 0)
        {
            yield return p.With(secondPick: 0);
        }

        if (p.FullChecksOnSecond)
        {
            yield return p.With(fullChecksOnSecond: false);
        }

        if (p.Kill is { } kill)
        {
            if (kill.DelayMs != 0)
            {
                yield return p.With(kill: kill with { DelayMs = 0 });
            }

            if (kill.AfterStep != 0)
            {
                yield return p.With(kill: kill with { AfterStep = 0 });
                yield return p.With(kill: kill with { AfterStep = kill.AfterStep / 2 });
            }
        }

        for (int r = 0; r < runs.Count; r++)
        {
            for (int i = 0; i < runs[r].Steps.Count; i++)
            {
                foreach (FsStep s in ShrinkStep(runs[r].Steps[i]))
                {
                    var changed = runs.ToList();
                    FsStep[] steps = [.. runs[r].Steps];
                    steps[i] = s;
                    changed[r] = runs[r] with { Steps = steps };
                    yield return p.With(runs: changed);
                }
            }
        }

        for (int i = 0; i < p.Outside.Count; i++)
        {
            OutsideChange c = p.Outside[i];
            OutsideChange[] simpler = [c with { Pick = 0 }, c with { Off = 0 }, c with { Len = 1 }];
            foreach (OutsideChange s in simpler.Where(s => s != c))
            {
                OutsideChange[] changes = [.. p.Outside];
                changes[i] = s;
                yield return p.With(outside: changes);
            }
        }
    }

    /// <summary>The runs without the flattened steps [start, start+count).</summary>
    private static List<ProgramRun> RemoveSteps(IReadOnlyList<ProgramRun> runs, int start, int count)
    {
        var result = new List<ProgramRun>();
        int at = 0;
        foreach (ProgramRun run in runs)
        {
            var kept = new List<FsStep>();
            foreach (FsStep s in run.Steps)
            {
                if (at < start || at >= start + count)
                {
                    kept.Add(s);
                }

                at++;
            }

            result.Add(run with { Steps = kept });
        }

        return result;
    }

    private static IEnumerable<FsStep> ShrinkStep(FsStep s)
    {
        if (s.Kind == StepKind.Checkpoint)
        {
            yield break;
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

        if (s.Seed > 1)
        {
            yield return s with { Seed = 1 };
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
