import pytest

from printer.backends import PrinterConfig, printer_config_from_dict


def test_tables_for_each_backend():
    assert printer_config_from_dict({"backend": "network", "host": "10.0.0.5"}) == PrinterConfig(
        "network", host="10.0.0.5", port=9100, timeout_s=3.0
    )
    usb = printer_config_from_dict({"backend": "usb", "usb_vendor": "0x0416", "usb_product": 20497})
    assert (usb.usb_vendor, usb.usb_product) == (0x0416, 0x5011)
    serial = printer_config_from_dict({"backend": "serial", "serial_device": "/dev/ttyS0", "baudrate": 19200})
    assert (serial.serial_device, serial.baudrate) == ("/dev/ttyS0", 19200)
    assert printer_config_from_dict({"backend": "file", "path": "/tmp/t.bin", "timeout_s": 1}).path == "/tmp/t.bin"
    assert printer_config_from_dict({"backend": "none"}).backend == "none"


@pytest.mark.parametrize(
    ("table", "complaint"),
    [
        ({}, "backend is missing"),
        ({"backend": "bluetooth"}, "must be one of"),
        ({"backend": "network"}, "needs host"),
        ({"backend": "usb", "usb_vendor": 1046}, "needs usb_product"),
        ({"backend": "network", "host": "p", "prot": 9100}, "unknown printer setting(s): prot"),
        ({"backend": "network", "host": "p", "port": "9100"}, "port has the wrong type"),
        ({"backend": "network", "host": "p", "port": 70000}, "port must be"),
        ({"backend": "network", "host": "p", "timeout_s": 0}, "timeout_s must be positive"),
        ({"backend": "network", "host": "p", "timeout_s": True}, "timeout_s has the wrong type"),
        ({"backend": "usb", "usb_vendor": "xprinter", "usb_product": 1}, "usb_vendor is not a number"),
    ],
)
def test_bad_tables_are_refused_clearly(table, complaint):
    with pytest.raises(ValueError) as raised:
        printer_config_from_dict(table)
    assert complaint in str(raised.value)
