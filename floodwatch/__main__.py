from floodwatch.cli.entry import main

main()
