"""Line model, takt, bottleneck and balance, discrete-event simulation. Pure."""
