using System.Diagnostics;
using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Xunit.Abstractions;

namespace Scoord.Tests.Properties.Exactness;

/// <summary>
/// Runs one exactness property with FsCheck: <c>cases</c> generated programs (SCOORD_PROPERTY_CASES
/// raises it: the long mode), each evaluated end to end; on a failure FsCheck shrinks the program, for at
/// most SCOORD_SHRINK_SECONDS (default 300) of evaluations, and the test fails with the report of the
/// smallest failing program found (every step's outcome, the commands, the rollback output, the listing
/// diff) followed by FsCheck's own message (with the seed: SCOORD_PROPERTY_REPLAY=SEED,GAMMA runs the same
/// programs again; SCOORD_KEEP_FAILED=1 keeps the failing case's directories; SCOORD_PROPERTY_PROGRESS=FILE
/// appends a line to FILE after every case that held, so that a long run shows how far it got).
/// </summary>
internal static class ExactnessCheck
{
    /// <summary>Cases for this property: SCOORD_PROPERTY_CASES when set, else the CI default.</summary>
    public static int Cases(int ciDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable("SCOORD_PROPERTY_CASES"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : ciDefault;

    /// <summary>
    /// The long mode (SCOORD_PROPERTY_CASES ≥ 1000, or SCOORD_PROPERTY_ALL_CHECKS=1) runs every check
    /// after each of the two rollbacks of a case; CI runs the full set (diff, --dry-run, the repeated
    /// rollback) after one of them, picked by the generator, to stay within its time budget (each check
    /// is a scoord process of ~0.5 s on the 2-core CI machine).
    /// </summary>
    public static bool AllChecks =>
        Environment.GetEnvironmentVariable("SCOORD_PROPERTY_ALL_CHECKS") == "1" || Cases(0) >= 1000;

    private static TimeSpan ShrinkBudget =>
        TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("SCOORD_SHRINK_SECONDS"), NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : 300);

    /// <summary>
    /// Checks <paramref name="evaluate"/> (null = the case held, else the report) on <paramref name="cases"/>
    /// programs; prints a summary line (cases, time, <paramref name="summary"/>) to <paramref name="output"/>.
    /// </summary>
    /// <param name="parallel">
    /// Cases evaluated at once (FsCheck's parallel run; each case is its own set of processes, trees and
    /// journal). SCOORD_PROPERTY_PARALLEL overrides it; shrinking is sequential either way.
    /// </param>
    public static void Run<TProgram>(string name, Arbitrary<TProgram> programs, int cases, Func<TProgram, string?> evaluate, ITestOutputHelper output, Func<string>? summary = null, int parallel = 1)
    {
        string? smallestFailure = null;
        int evaluations = 0, shrinkEvaluations = 0;
        Stopwatch? shrinking = null;
        var total = Stopwatch.StartNew();
        TimeSpan budget = ShrinkBudget;
        string? progress = Environment.GetEnvironmentVariable("SCOORD_PROPERTY_PROGRESS") is { Length: > 0 } file ? file : null;
        var gate = new object();
        Property property = Prop.ForAll(programs, (TProgram program) =>
        {
            lock (gate)
            {
                if (shrinking is not null)
                {
                    // FsCheck stops shrinking when no candidate fails: past the budget, every candidate "holds".
                    if (shrinking.Elapsed > budget)
                    {
                        return;
                    }

                    shrinkEvaluations++;
                }

                evaluations++;
            }

            string? failure;
            try
            {
                failure = evaluate(program);
            }
            catch (Exception e)
            {
                failure = "the test itself threw: " + e;
            }

            if (failure is not null)
            {
                lock (gate)
                {
                    smallestFailure = failure;
                    shrinking ??= Stopwatch.StartNew();
                }

                throw new ExactnessFailedException(failure);
            }

            if (progress is not null)
            {
                lock (gate)
                {
                    File.AppendAllText(progress, string.Create(CultureInfo.InvariantCulture,
                        $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {name}: {evaluations} case(s) evaluated, none failed, {total.Elapsed.TotalSeconds:F0} s\n"));
                }
            }
        });

        if (int.TryParse(Environment.GetEnvironmentVariable("SCOORD_PROPERTY_PARALLEL"), NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p > 0)
        {
            parallel = p;
        }

        Config config = WithReplay(Config.QuickThrowOnFailure.WithMaxTest(cases).WithQuietOnSuccess(true));
        if (parallel > 1)
        {
            config = config.WithParallelRunConfig(new ParallelRunConfig(parallel));
        }

        try
        {
            Check.One(config, property);
        }
        catch (Exception e)
        {
            string budgetNote = shrinking is not null && shrinking.Elapsed > budget
                ? $" (shrinking stopped after its budget of {budget.TotalSeconds:F0} s, SCOORD_SHRINK_SECONDS; a smaller program may exist)"
                : "";
            Assert.Fail($"{name} failed after {evaluations - shrinkEvaluations} case(s) and {shrinkEvaluations} shrink evaluation(s), {total.Elapsed.TotalSeconds:F0} s{budgetNote}.\n" +
                $"Smallest failing case:\n{smallestFailure ?? "(none recorded)"}\n\n--- FsCheck ---\n{ExactnessCase.Head(e.Message, 30)}");
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {evaluations} case(s) held in {total.Elapsed.TotalSeconds:F0} s ({total.Elapsed.TotalSeconds / Math.Max(1, evaluations):F1} s each){(summary is null ? "" : "; " + summary())}"));
    }

    /// <summary>
    /// SCOORD_PROPERTY_REPLAY="SEED,GAMMA" replays the run FsCheck reported as "Falsifiable, after N tests
    /// (M shrinks) (SEED,GAMMA)" (same generated programs, same order); "SEED,GAMMA,SIZE" from its "Replay
    /// directly at failing step with (SEED,GAMMA,SIZE)" runs the failing case first (with
    /// SCOORD_PROPERTY_CASES=1, seconds instead of the whole run).
    /// </summary>
    private static Config WithReplay(Config config)
    {
        string? replay = Environment.GetEnvironmentVariable("SCOORD_PROPERTY_REPLAY");
        if (string.IsNullOrEmpty(replay))
        {
            return config;
        }

        string[] parts = replay.Trim('(', ')', ' ').Split(',', StringSplitOptions.TrimEntries);
        var rnd = new Rnd(ulong.Parse(parts[0], CultureInfo.InvariantCulture), ulong.Parse(parts[1], CultureInfo.InvariantCulture));
        return config.WithReplay(new Replay(rnd, parts.Length > 2 ? FSharpOption<int>.Some(int.Parse(parts[2], CultureInfo.InvariantCulture)) : FSharpOption<int>.None));
    }

    private sealed class ExactnessFailedException(string message) : Exception(message);
}
