from trackrecord.cli.app import main

main()
