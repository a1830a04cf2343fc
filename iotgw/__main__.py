from iotgw.cli import app

app(prog_name="iotgw")
