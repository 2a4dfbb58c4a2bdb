namespace Scoord.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (Scoord.Journal.Faults.FaultInjection.ConfigurationWarning() is { } warning)
        {
            Console.Error.WriteLine("scoord: warning: " + warning);
        }

        return new CliApplication(Console.Error).Run(args);
    }
}
