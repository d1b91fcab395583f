from shipstate.cli.main import main

main()
