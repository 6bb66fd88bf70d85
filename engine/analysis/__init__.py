"""Read-side computations over stored runs, shared by the CLI, the dashboard and the studies: comparisons and
significance tables, matrices and exports, figures as data, the runs table's rows. No rich: rendering is the
CLI's (engine.cli.render) and the dashboard's."""
