from trackrecord.cli.entry import main

main()
