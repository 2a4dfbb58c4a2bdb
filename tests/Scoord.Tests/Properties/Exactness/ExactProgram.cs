using System.Globalization;
using System.Text;

namespace Scoord.Tests.Properties.Exactness;

/// <summary>One `scoord run` of the driver: its steps, and whether a checkpoint is taken from outside (nothing running) before it.</summary>
public sealed record ProgramRun(bool CheckpointBefore, IReadOnlyList<FsStep> Steps);

/// <summary>The coordinator of the last run is SIGKILLed <see cref="DelayMs"/> ms after the driver reports step <see cref="AfterStep"/> done.</summary>
public sealed record KillPlan(int AfterStep, int DelayMs);

/// <summary>
/// A generated program: 1-4 runs of the driver (2-4 as generated; shrinking may merge them), the
/// checkpoints between and after them (inside ones are <see cref="StepKind.Checkpoint"/> steps), two
/// picks of the checkpoints to roll back to (taken modulo the number eligible), and, per property, a
/// kill of the last run's coordinator or the changes made outside scoord.
/// </summary>
public sealed class ExactProgram
{
    public ExactProgram(IReadOnlyList<ProgramRun> runs, bool checkpointAfter, int firstPick, int secondPick, KillPlan? kill = null, IReadOnlyList<OutsideChange>? outside = null, bool fullChecksOnSecond = false)
    {
        Runs = runs;
        CheckpointAfter = checkpointAfter;
        FirstPick = firstPick;
        SecondPick = secondPick;
        FullChecksOnSecond = fullChecksOnSecond;
        Kill = kill;
        Outside = outside ?? [];
    }

    public IReadOnlyList<ProgramRun> Runs { get; }

    /// <summary>A checkpoint from outside after the last run (so a rollback can go forward again).</summary>
    public bool CheckpointAfter { get; }

    public int FirstPick { get; }

    public int SecondPick { get; }

    /// <summary>
    /// Which rollback gets the full checks (diff, --dry-run, the repeated rollback) in CI: the second
    /// when true, else the first. Both always get exit 0, no conflict and the exact listing.
    /// </summary>
    public bool FullChecksOnSecond { get; }

    public KillPlan? Kill { get; }

    public IReadOnlyList<OutsideChange> Outside { get; }

    public int StepCount => Runs.Sum(r => r.Steps.Count);

    public ExactProgram With(IReadOnlyList<ProgramRun>? runs = null, bool? checkpointAfter = null, int? firstPick = null, int? secondPick = null, KillPlan? kill = null, IReadOnlyList<OutsideChange>? outside = null, bool? fullChecksOnSecond = null) =>
        new(runs ?? Runs, checkpointAfter ?? CheckpointAfter, firstPick ?? FirstPick, secondPick ?? SecondPick, kill ?? Kill, outside ?? Outside, fullChecksOnSecond ?? FullChecksOnSecond);

    public override string ToString() => Describe(null);

    /// <summary>The program, one step a line, with each step's outcome when known ("ok", "checkpoint 3", or the error).</summary>
    public string Describe(IReadOnlyDictionary<(int Run, int Step), string>? outcomes)
    {
        var sb = new StringBuilder();
        sb.Append("  [setup, outside scoord] ").AppendLine(SetupDescription);
        for (int r = 0; r < Runs.Count; r++)
        {
            if (Runs[r].CheckpointBefore)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  [checkpoint from outside, before run {r + 1}]\n");
            }

            bool last = r == Runs.Count - 1;
            sb.Append(CultureInfo.InvariantCulture, $"  run {r + 1} (`scoord run -- python3 driver.py run ...`, {Runs[r].Steps.Count} steps){(last && Kill is not null ? $", its coordinator SIGKILLed {Kill.DelayMs} ms after step {Kill.AfterStep}" : "")}:\n");
            for (int i = 0; i < Runs[r].Steps.Count; i++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"    {i,3}: {Runs[r].Steps[i].Describe()}");
                if (outcomes is not null)
                {
                    sb.Append("    # ").Append(outcomes.TryGetValue((r, i), out string? o) ? o : "(not reached)");
                }

                sb.AppendLine();
            }
        }

        if (CheckpointAfter)
        {
            sb.AppendLine("  [checkpoint from outside, after the last run]");
        }

        foreach (OutsideChange c in Outside)
        {
            sb.Append("  [outside change] ").AppendLine(c.ToString());
        }

        sb.Append(CultureInfo.InvariantCulture, $"  rollback picks: {FirstPick}, {SecondPick} (modulo the checkpoints eligible); diff, --dry-run and the repeated rollback after the {(FullChecksOnSecond ? "second" : "first")} (after both in the long mode)");
        return sb.ToString();
    }

    public const string SetupDescription =
        "f0 = 5000 bytes (0644, user.k0='seed'); d0/ (0755); d0/f1 = 100 bytes (0600), also named d1/f0 (hard link); " +
        "d0/e0/ (0750); d0/e0/f0 = hole of 12288 bytes then 3000 bytes; d1/ (0755); f2 = symlink to 'f0'; d2/ (0700, user.k1='dir'); all mtimes in 2001";
}
