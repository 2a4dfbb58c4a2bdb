using System.CommandLine;

namespace Scoord.Cli.Parsing;

/// <summary>
/// Rewrites argv before System.CommandLine sees it, for two things its grammar cannot say:
/// <list type="bullet">
/// <item>`scoord run [options] PROG ARGS...`: everything from PROG on belongs to the program verbatim,
/// even tokens that look like scoord options. A <c>--</c> is inserted before PROG when the user did not
/// write one, and an unknown option before PROG is an error (the parser would take it for PROG).</item>
/// <item>`-v LEVEL` / `--verbose LEVEL` (LEVEL a log level name) becomes the hidden `--verbosity LEVEL`,
/// so `-v` stays a repeatable flag and `-v sh` never eats the program name.</item>
/// </list>
/// The options' names and arities are read from the command tree, so there is one source of truth.
/// </summary>
internal static class ArgumentPreparer
{
    public const string VerbosityOptionName = "--verbosity";

    public static string[] Prepare(IReadOnlyList<string> args, RootCommand root, Command run)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(run);

        var output = new List<string>(args.Count + 1);
        int i = 0;
        Command? command = null;

        // Global options before the command name.
        while (i < args.Count)
        {
            string a = args[i];
            if (a == "--" || !IsOptionLike(a))
            {
                break;
            }

            i = CopyOption(args, i, root, root, output);
        }

        if (i < args.Count && args[i] != "--")
        {
            command = root.Subcommands.FirstOrDefault(c => c.Name == args[i] || c.Aliases.Contains(args[i]));
            output.Add(args[i]);
            i++;
        }

        if (command != run)
        {
            // Other commands take no free arguments that could look like levels; only the -v rewrite applies.
            while (i < args.Count)
            {
                if (args[i] == "--")
                {
                    output.AddRange(args.Skip(i));
                    break;
                }

                i = IsOptionLike(args[i]) ? CopyOption(args, i, command ?? root, root, output) : Copy(args, i, output);
            }

            return [.. output];
        }

        // `run`: options until the program.
        while (i < args.Count)
        {
            string a = args[i];
            if (a == "--")
            {
                output.AddRange(args.Skip(i));
                return [.. output];
            }

            if (!IsOptionLike(a))
            {
                break;
            }

            if (FindOption(run, root, OptionName(a)) is null && !IsBundledFlags(a, run, root))
            {
                throw new UsageException($"run: unknown option '{a}' (put the program after `--`: scoord run [options] -- PROG [ARGS...])");
            }

            i = CopyOption(args, i, run, root, output);
        }

        if (i < args.Count)
        {
            output.Add("--");
            output.AddRange(args.Skip(i));
        }

        return [.. output];
    }

    private static int Copy(IReadOnlyList<string> args, int i, List<string> output)
    {
        output.Add(args[i]);
        return i + 1;
    }

    /// <summary>Copies the option at args[i] (and its value, if it takes one); returns the next index.</summary>
    private static int CopyOption(IReadOnlyList<string> args, int i, Command command, Command root, List<string> output)
    {
        string a = args[i];
        string name = OptionName(a);
        if (name is "-v" or "--verbose")
        {
            if (a.Length > name.Length)
            {
                output.Add(VerbosityOptionName + a[name.Length..]);
                return i + 1;
            }

            if (i + 1 < args.Count && Verbosity.IsLevelName(args[i + 1]))
            {
                output.Add(VerbosityOptionName);
                output.Add(args[i + 1]);
                return i + 2;
            }

            output.Add(a);
            return i + 1;
        }

        output.Add(a);
        Option? option = FindOption(command, root, name);
        bool inlineValue = a.Length > name.Length;
        if (option is not null && !inlineValue && option.Arity.MaximumNumberOfValues > 0 && i + 1 < args.Count)
        {
            output.Add(args[i + 1]);
            return i + 2;
        }

        return i + 1;
    }

    private static bool IsOptionLike(string a) => a.Length > 1 && a[0] == '-';

    /// <summary>"--durability=strict" → "--durability"; "-v:debug" → "-v".</summary>
    private static string OptionName(string a)
    {
        int cut = a.IndexOfAny(['=', ':']);
        return cut > 0 ? a[..cut] : a;
    }

    private static bool IsBundledFlags(string a, Command command, RootCommand root)
    {
        if (a.Length < 3 || a[1] == '-')
        {
            return false;
        }

        for (int k = 1; k < a.Length; k++)
        {
            Option? o = FindOption(command, root, "-" + a[k]);
            if (o is null || o.Arity.MaximumNumberOfValues > 0)
            {
                return false;
            }
        }

        return true;
    }

    private static Option? FindOption(Command command, Command root, string name)
    {
        foreach (Command c in command == root ? [command] : new[] { command, root })
        {
            foreach (Option o in c.Options)
            {
                if (o.Name == name || o.Aliases.Contains(name))
                {
                    return o;
                }
            }
        }

        return null;
    }
}
