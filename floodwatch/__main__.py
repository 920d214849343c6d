from floodwatch.cli.app import main

main()
