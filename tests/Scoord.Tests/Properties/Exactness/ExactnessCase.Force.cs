using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Scoord.Tests.Support;

namespace Scoord.Tests.Properties.Exactness;

internal sealed partial class ExactnessCase
{
    /// <summary>How many outside changes the last <see cref="ForceAndVerify"/> really made.</summary>
    public int OutsideChangesMade { get; private set; }

    /// <summary>
    /// Changes outside scoord (see <see cref="OutsideChanges"/>), then `scoord rollback --force CKPT`:
    /// exit 0 and exactly the checkpoint's listing; it names the checkpoint it took first
    /// ("the state before this rollback is checkpoint ID (before-rollback-ID)", required whenever it had
    /// something to do), and `scoord rollback ID` gives back exactly the outside state.
    /// </summary>
    public string? ForceAndVerify(CaseCheckpoint target, IReadOnlyList<OutsideChange> changes)
    {
        string id = target.Id.ToString(CultureInfo.InvariantCulture);
        TreeSnapshot atCheckpoint = TreeSnapshot.Load(target.ListingPrefix + ".json");
        string beforePrefix = ListTo("before-outside");
        (JsonArray json, List<string> descriptions) = OutsideChanges.Resolve(
            changes, atCheckpoint, Inodes(target.ListingPrefix), TreeSnapshot.Load(beforePrefix + ".json"), Inodes(beforePrefix));
        string[] results = json.Count == 0 ? [] : ApplyOutside(json);
        int applied = 0;
        for (int i = 0, j = 0; i < descriptions.Count; i++)
        {
            bool skipped = descriptions[i].Contains(": skipped", StringComparison.Ordinal);
            string result = skipped ? "" : "  => " + results[j++];
            applied += result == "  => ok" ? 1 : 0;
            Note("  [outside scoord] " + descriptions[i] + result);
        }

        OutsideChangesMade = applied;
        TreeSnapshot outsideState = List("outside-state");
        bool hasWork = TreeSnapshot.Diff(atCheckpoint, outsideState).Length > 0;

        CliResult force = Scoord("rollback", "--force", id);
        TreeSnapshot after = List("after-force");
        if (force.ExitCode != 0)
        {
            return $"`scoord rollback --force {id}` (to {target}) must exit 0: exit {force.ExitCode}\n{ListingDiff(atCheckpoint, after, target)}";
        }

        string diff = TreeSnapshot.Diff(atCheckpoint, after, $"checkpoint {id}", "after rollback --force");
        if (diff.Length > 0)
        {
            return $"the tree after `scoord rollback --force {id}` differs from the listing taken at {target}:\n{diff}";
        }

        Match line = force.StdoutLines.Select(l => BeforeRollbackLine().Match(l)).FirstOrDefault(m => m.Success) ?? Match.Empty;
        if (!line.Success)
        {
            return hasWork
                ? $"`scoord rollback --force {id}` changed the tree but printed no line \"the state before this rollback is checkpoint ID (before-rollback-ID)\""
                : null;
        }

        if (line.Groups[1].Value != line.Groups[2].Value)
        {
            return $"the checkpoint the rollback took is named after another id: \"{line.Value}\"";
        }

        string before = line.Groups[1].Value;
        CliResult back = Scoord("rollback", before);
        if (back.ExitCode != 0 || Conflicts(back) is not null)
        {
            return $"`scoord rollback {before}` (the state before the --force rollback) must exit 0 with no conflict: exit {back.ExitCode}{Conflicts(back)}";
        }

        string backDiff = TreeSnapshot.Diff(outsideState, List("after-rollback-of-force"), "before the --force rollback", $"after `rollback {before}`");
        return backDiff.Length == 0 ? null
            : $"`scoord rollback {before}` must give back exactly the tree as it was before `rollback --force {id}` (with the outside changes):\n{backDiff}";
    }

    [GeneratedRegex(@"^the state before this rollback is checkpoint (\d+) \(before-rollback-(\d+)\)$")]
    private static partial Regex BeforeRollbackLine();
}
